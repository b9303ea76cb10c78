#include <fastcgi.h>
#include <fcgiapp.h>
#include <stddef.h>
#include <stdint.h>

// The state of libfcgi's stdin reader, for handing the rest of the body to our own record
// reader (FastCGI's StdinRecordReader). libfcgi keeps it in a private struct, FCGX_Stream_Data of
// fcgiapp.c, unchanged since 2.4.0 (2002): its leading fields are mirrored here, and the values
// read through them are checked for consistency before use (s3gw_fcgx_stdin_state).
struct s3gw_fcgx_stream_data {
    unsigned char *buff;
    int bufflen;
    unsigned char *mBuff;
    unsigned char *buffStop;
    int type;
    int eorStop;
    int skip;
    int contentLen;
    int paddingLen;
    int isAnythingWritten;
    int rawWrite;
    FCGX_Request *reqDataPtr;
};

// Where a stdin stream stands: `content` .. +contentCount are content bytes libfcgi exposed and
// the caller has not read; `raw` .. +rawCount are bytes it read from the socket and has not
// parsed yet (padding, then record headers); `contentLeft` and `paddingLeft` are what the current
// record still owes beyond them; `closed` is set once the empty end record was seen. Returns 0,
// or -1 when the state does not look like libfcgi 2.4's (the caller keeps using FCGX_GetStr).
static inline int s3gw_fcgx_stdin_state(
    FCGX_Request *request, unsigned char **content, int *contentCount, unsigned char **raw, int *rawCount,
    int *contentLeft, int *paddingLeft, int *closed)
{
    FCGX_Stream *stream = request->in;
    if (stream == NULL || !stream->isReader || stream->data == NULL) return -1;
    struct s3gw_fcgx_stream_data *data = (struct s3gw_fcgx_stream_data *)stream->data;
    if (data->reqDataPtr != request || data->type != FCGI_STDIN || data->bufflen <= 0) return -1;
    if (!(data->buff <= stream->rdNext && stream->rdNext <= stream->stop && stream->stop <= data->buffStop
          && data->buffStop <= data->buff + data->bufflen))
        return -1;
    if (data->contentLen < 0 || data->paddingLen < 0 || data->paddingLen > 255) return -1;
    *content = stream->rdNext;
    *contentCount = (int)(stream->stop - stream->rdNext);
    *raw = stream->stop;
    *rawCount = (int)(data->buffStop - stream->stop);
    *contentLeft = data->contentLen;
    *paddingLeft = data->paddingLen;
    *closed = stream->isClosed;
    return 0;
}

// Marks everything libfcgi buffered as consumed once our reader took over (it copied the bytes),
// so libfcgi never delivers them a second time.
static inline void s3gw_fcgx_stdin_release(FCGX_Request *request) {
    FCGX_Stream *stream = request->in;
    struct s3gw_fcgx_stream_data *data = (struct s3gw_fcgx_stream_data *)stream->data;
    stream->rdNext = stream->stop = stream->wrNext = data->buffStop;
    data->contentLen = 0;
    data->paddingLen = 0;
}
