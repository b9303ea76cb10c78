// s3gw.headers — the njs header filter of the internal locations over filesystem zones
// (`s3gw config nginx-locations`). On an X-Accel-Redirect nginx keeps almost none of the
// gateway's headers, so the gateway sends them all in one, X-S3gw-Headers:
// `name=value&name=value`, percent-encoded byte for byte where needed (`%`, `&`, `=`, space,
// control bytes and bytes above 0x7E; no `&` or `=` survives the encoding). This puts each
// one on the answer exactly as the gateway would have sent it.
// Installed next to nginx/s3gw.conf, which imports it (js_import); needs ngx_http_js_module
// (Debian: libnginx-mod-http-js).

// The bytes a percent-encoded string stands for (header values are bytes, not text: user
// metadata may hold any byte but CR and LF, and must come back as it went in).
function bytes(s) {
    var out = [];
    for (var i = 0; i < s.length; i++) {
        var c = s.charCodeAt(i);
        if (c === 37) {
            out.push(parseInt(s.substr(i + 1, 2), 16));
            i += 2;
        } else {
            out.push(c);
        }
    }
    return Buffer.from(out);
}

// A packed name or value as it goes on the answer. Most need no decoding (ETags, dates' commas,
// ids); escapes of UTF-8 text decode natively, and njs writes the string's UTF-8 back, the same
// bytes; anything else (a Latin-1 byte in user metadata) goes byte by byte.
function decode(s) {
    if (s.indexOf('%') < 0) {
        return s;
    }
    try {
        return decodeURIComponent(s);
    } catch (e) {
        return bytes(s);
    }
}

// RFC 9110 token: what a header name may be (the gateway sends no other; checked again here so
// no name can write a header line of its own).
var TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headers(r) {
    var packed = r.variables.upstream_http_x_s3gw_headers;
    // Only the file's own answer carries the object's headers (an nginx error page does not).
    if (!packed || (r.status !== 200 && r.status !== 206)) {
        return;
    }
    // A name sent twice keeps both values, in order.
    var values = Object.create(null);
    var order = [];
    var pairs = packed.split('&');
    for (var i = 0; i < pairs.length; i++) {
        var eq = pairs[i].indexOf('=');
        if (eq <= 0) {
            continue;
        }
        var name = decode(pairs[i].slice(0, eq)).toString();
        if (!TOKEN.test(name)) {
            continue;
        }
        if (!(name in values)) {
            values[name] = [];
            order.push(name);
        }
        values[name].push(decode(pairs[i].slice(eq + 1)));
    }
    for (var j = 0; j < order.length; j++) {
        var v = values[order[j]];
        r.headersOut[order[j]] = v.length === 1 ? v[0] : v;
    }
}

export default {headers};
