#ifndef LLMGW_CLMDB_SHIM_H
#define LLMGW_CLMDB_SHIM_H

#include <lmdb.h>

#endif
