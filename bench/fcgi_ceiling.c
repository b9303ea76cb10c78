/* The smallest libfcgi responder: every request gets the same 4096 bytes. bench.py runs it
 * behind the same nginx configuration as the gateway, for the "C libfcgi responder" reference
 * row: what nginx -> FastCGI -> libfcgi costs with no work at all behind it. */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char body[4096];

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request r;
    FCGX_InitRequest(&r, 0, 0);
    while (FCGX_Accept_r(&r) >= 0) {
        FCGX_FPrintF(r.out, "Status: 200 OK\r\nContent-Type: application/octet-stream\r\n"
                            "Content-Length: 4096\r\nETag: \"0123456789abcdef0123456789abcdef\"\r\n\r\n");
        FCGX_PutStr(body, sizeof body, r.out);
        FCGX_Finish_r(&r);
    }
    return 0;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 32;
    pthread_t t[256];
    if (threads < 1 || threads > 256) threads = 32;
    FCGX_Init();
    memset(body, 'x', sizeof body);
    for (int i = 0; i < threads; i++) pthread_create(&t[i], 0, serve, 0);
    for (int i = 0; i < threads; i++) pthread_join(t[i], 0);
    return 0;
}
