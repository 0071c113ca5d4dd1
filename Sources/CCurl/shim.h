#ifndef LLMGW_CCURL_SHIM_H
#define LLMGW_CCURL_SHIM_H

#include <curl/curl.h>

// The curl loop waits in epoll and is woken through an eventfd; Glibc's Swift module does not
// cover these two headers, so they come in through this one.
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

// Names the calling thread (what pthread_setname_np does for it, which Glibc's Swift module hides
// behind _GNU_SOURCE). Linux keeps 15 bytes.
static inline int llmgw_name_this_thread(const char *name) { return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }
#endif

// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic and do not import into
// Swift. One typed wrapper per argument type; the llmgw_ prefix keeps them apart from curl's names.

static inline CURLcode llmgw_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode llmgw_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode llmgw_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode llmgw_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode llmgw_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode llmgw_easy_setopt_write_callback(CURL *h, CURLoption o, curl_write_callback v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode llmgw_easy_setopt_xferinfo_callback(CURL *h, CURLoption o, curl_xferinfo_callback v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode llmgw_easy_setopt_prereq_callback(CURL *h, CURLoption o, curl_prereq_callback v) { return curl_easy_setopt(h, o, v); }

static inline CURLcode llmgw_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode llmgw_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode llmgw_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }

static inline CURLMcode llmgw_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode llmgw_multi_setopt_pointer(CURLM *m, CURLMoption o, void *v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode llmgw_multi_setopt_socket_callback(CURLM *m, CURLMoption o, curl_socket_callback v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode llmgw_multi_setopt_timer_callback(CURLM *m, CURLMoption o, curl_multi_timer_callback v) { return curl_multi_setopt(m, o, v); }

// Macros built from other macros or expressions may not import into Swift; these spell them out.

static inline long llmgw_global_default(void) { return CURL_GLOBAL_DEFAULT; }
static inline int llmgw_pause_continue(void) { return CURLPAUSE_CONT; }
static inline size_t llmgw_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline int llmgw_prereqfunc_ok(void) { return CURL_PREREQFUNC_OK; }
static inline curl_socket_t llmgw_socket_timeout(void) { return CURL_SOCKET_TIMEOUT; }
static inline int llmgw_poll_in(void) { return CURL_POLL_IN; }
static inline int llmgw_poll_out(void) { return CURL_POLL_OUT; }
static inline int llmgw_poll_inout(void) { return CURL_POLL_INOUT; }
static inline int llmgw_poll_remove(void) { return CURL_POLL_REMOVE; }
static inline int llmgw_cselect_in(void) { return CURL_CSELECT_IN; }
static inline int llmgw_cselect_out(void) { return CURL_CSELECT_OUT; }
static inline int llmgw_cselect_err(void) { return CURL_CSELECT_ERR; }

#endif
