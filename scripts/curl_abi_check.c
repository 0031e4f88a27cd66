/* Checks Sources/CFlowHTTP/curl_abi.h — flow's own declarations of the libcurl ABI it uses — against the real
 * libcurl header at compile time. Not part of the build (which needs no libcurl header); compiled by
 * scripts/check-curl-abi.sh, which CI runs against the header unpacked from Debian's libcurl4-openssl-dev. */
#include <curl/curl.h>
#include "../Sources/CFlowHTTP/curl_abi.h"

#define FLOW_SAME(name) _Static_assert((long)FLOW_##name == (long)name, #name " differs from libcurl's header")
FLOW_SAME(CURLE_OK); FLOW_SAME(CURLE_COULDNT_RESOLVE_PROXY); FLOW_SAME(CURLE_COULDNT_RESOLVE_HOST);
FLOW_SAME(CURLE_COULDNT_CONNECT); FLOW_SAME(CURLE_PARTIAL_FILE); FLOW_SAME(CURLE_WRITE_ERROR);
FLOW_SAME(CURLE_OPERATION_TIMEDOUT); FLOW_SAME(CURLE_SSL_CONNECT_ERROR); FLOW_SAME(CURLE_ABORTED_BY_CALLBACK);
FLOW_SAME(CURLE_GOT_NOTHING); FLOW_SAME(CURLE_SEND_ERROR); FLOW_SAME(CURLE_RECV_ERROR);
FLOW_SAME(CURLE_SSL_CERTPROBLEM); FLOW_SAME(CURLE_SSL_CIPHER); FLOW_SAME(CURLE_PEER_FAILED_VERIFICATION);
FLOW_SAME(CURLE_SSL_CACERT_BADFILE); FLOW_SAME(CURLE_SSL_ISSUER_ERROR);
FLOW_SAME(CURLOPT_WRITEDATA); FLOW_SAME(CURLOPT_URL); FLOW_SAME(CURLOPT_USERAGENT); FLOW_SAME(CURLOPT_LOW_SPEED_LIMIT);
FLOW_SAME(CURLOPT_LOW_SPEED_TIME); FLOW_SAME(CURLOPT_HTTPHEADER); FLOW_SAME(CURLOPT_HEADERDATA);
FLOW_SAME(CURLOPT_NOPROGRESS); FLOW_SAME(CURLOPT_FOLLOWLOCATION); FLOW_SAME(CURLOPT_XFERINFODATA);
FLOW_SAME(CURLOPT_WRITEFUNCTION); FLOW_SAME(CURLOPT_HEADERFUNCTION); FLOW_SAME(CURLOPT_HTTPGET);
FLOW_SAME(CURLOPT_NOSIGNAL); FLOW_SAME(CURLOPT_TIMEOUT_MS); FLOW_SAME(CURLOPT_CONNECTTIMEOUT_MS);
FLOW_SAME(CURLOPT_XFERINFOFUNCTION); FLOW_SAME(CURLOPT_POSTFIELDS); FLOW_SAME(CURLOPT_POST);
FLOW_SAME(CURLOPT_POSTFIELDSIZE); FLOW_SAME(CURLINFO_RESPONSE_CODE); FLOW_SAME(CURL_GLOBAL_DEFAULT);
#undef FLOW_SAME
_Static_assert(sizeof(flow_curl_off_t) == sizeof(curl_off_t), "curl_off_t differs from libcurl's header");
_Static_assert(sizeof(flow_curlcode) == sizeof(CURLcode), "CURLcode differs from libcurl's header");
_Static_assert(sizeof(flow_curloption) == sizeof(CURLoption), "CURLoption differs from libcurl's header");
_Static_assert(sizeof(flow_curlinfo) == sizeof(CURLINFO), "CURLINFO differs from libcurl's header");


int main(void) { return 0; }
