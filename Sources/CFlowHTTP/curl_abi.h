#ifndef FLOW_CURL_ABI_H
#define FLOW_CURL_ABI_H

/* The part of libcurl's ABI flow uses, declared here so that building flow needs no libcurl header: a fresh
 * Debian machine has the libcurl4 runtime but not libcurl4-openssl-dev. libcurl keeps these numbers stable
 * across its whole 7.x and 8.x ABI (soname libcurl.so.4). No file under Sources/ includes a libcurl header:
 * every value below is checked against the real one by scripts/curl_abi_check.c, which CI compiles against
 * the header unpacked from Debian's package (scripts/check-curl-abi.sh) without installing it. */

#include <stdint.h>

typedef void FLOW_CURL;
typedef int flow_curlcode;
typedef int flow_curloption;
typedef int flow_curlinfo;
typedef int64_t flow_curl_off_t;
struct curl_slist;

enum {
    FLOW_CURLE_OK = 0,
    FLOW_CURLE_COULDNT_RESOLVE_PROXY = 5,
    FLOW_CURLE_COULDNT_RESOLVE_HOST = 6,
    FLOW_CURLE_COULDNT_CONNECT = 7,
    FLOW_CURLE_PARTIAL_FILE = 18,
    FLOW_CURLE_WRITE_ERROR = 23,
    FLOW_CURLE_OPERATION_TIMEDOUT = 28,
    FLOW_CURLE_SSL_CONNECT_ERROR = 35,
    FLOW_CURLE_ABORTED_BY_CALLBACK = 42,
    FLOW_CURLE_GOT_NOTHING = 52,
    FLOW_CURLE_SEND_ERROR = 55,
    FLOW_CURLE_RECV_ERROR = 56,
    FLOW_CURLE_SSL_CERTPROBLEM = 58,
    FLOW_CURLE_SSL_CIPHER = 59,
    FLOW_CURLE_PEER_FAILED_VERIFICATION = 60,
    FLOW_CURLE_SSL_CACERT_BADFILE = 77,
    FLOW_CURLE_SSL_ISSUER_ERROR = 83,
};

/* An option's number is its type's base (long 0, object pointer 10000, function pointer 20000) plus its index. */
enum {
    FLOW_CURLOPT_WRITEDATA = 10001,
    FLOW_CURLOPT_URL = 10002,
    FLOW_CURLOPT_USERAGENT = 10018,
    FLOW_CURLOPT_POSTFIELDS = 10015,
    FLOW_CURLOPT_POST = 47,
    FLOW_CURLOPT_POSTFIELDSIZE = 60,
    FLOW_CURLOPT_LOW_SPEED_LIMIT = 19,
    FLOW_CURLOPT_LOW_SPEED_TIME = 20,
    FLOW_CURLOPT_HTTPHEADER = 10023,
    FLOW_CURLOPT_HEADERDATA = 10029,
    FLOW_CURLOPT_NOPROGRESS = 43,
    FLOW_CURLOPT_FOLLOWLOCATION = 52,
    FLOW_CURLOPT_XFERINFODATA = 10057,
    FLOW_CURLOPT_WRITEFUNCTION = 20011,
    FLOW_CURLOPT_HEADERFUNCTION = 20079,
    FLOW_CURLOPT_HTTPGET = 80,
    FLOW_CURLOPT_NOSIGNAL = 99,
    FLOW_CURLOPT_TIMEOUT_MS = 155,
    FLOW_CURLOPT_CONNECTTIMEOUT_MS = 156,
    FLOW_CURLOPT_XFERINFOFUNCTION = 20219,
};

enum { FLOW_CURLINFO_RESPONSE_CODE = 0x200000 + 2 };
enum { FLOW_CURL_GLOBAL_DEFAULT = 3 };

#endif
