#ifndef LLMGW_CLIBFUZZER_H
#define LLMGW_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry point for programs with their own main (compiler-rt FuzzerInterface.h).
// Linked from libclang_rt.fuzzer when the executable is built with -sanitize=fuzzer.
typedef int (*llmgw_fuzz_callback)(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, llmgw_fuzz_callback callback);

#endif
