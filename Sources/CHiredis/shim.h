#ifndef LLMGW_CHIREDIS_SHIM_H
#define LLMGW_CHIREDIS_SHIM_H

// hiredis' synchronous API. Debian 12 ships hiredis 0.14, which has NO TLS support (hiredis_ssl
// arrived in 1.0): `rediss://` is refused by RedisEndpoint. Reach a remote Redis over a private
// network, a Unix socket, or a local TLS tunnel (stunnel, spiped) instead.
//
// The variadic redisCommand / redisAppendCommand do not import into Swift; the *Argv forms do
// (and are binary-safe), so no wrappers are needed.
#include <hiredis/hiredis.h>

#endif
