// Header-only: declares libFuzzer's driver entry point for Swift (see include/CLibFuzzer.h).
