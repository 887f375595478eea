# Varnish (Debian's varnish 7) as a shared cache in front of kast's LL-HLS.
# Like deploy/nginx/kast.conf, it sends kast about one request per part and
# per blocking playlist reload whatever the number of viewers, and unlike
# nginx it adds almost nothing to their latency: the viewers asking for a
# URL kast is still answering wait on Varnish's waiting list and are woken
# as soon as kast's response headers arrive, then stream the body along
# with the first (nginx's cache lock makes them look again on a timer).
#
#   varnishd -a :6081 -f /etc/varnish/kast.vcl -s malloc,512m
#
# Varnish speaks no TLS: put nginx (deploy/nginx/README.md, without its
# proxy_cache lines) or hitch in front for HTTPS. CHANGE the backend's
# address to kast's -http-addr.
vcl 4.1;

backend kast {
    .host = "127.0.0.1";
    .port = "8080";
    # A blocking playlist reload waits at kast until its part exists (up
    # to three target durations: 24 s for a publisher sending a keyframe
    # every 8 s), and a preload-hinted part streams as kast packages it.
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 60s;
}

sub vcl_recv {
    # The live channel is a websocket: passed through as is.
    if (req.http.Upgrade ~ "(?i)websocket") {
        return (pipe);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Varnish's own Host checks (lower case, refuse a request without).
    call vcl_req_host;
    if (req.url ~ "^/hls/") {
        # Cached whatever cookies the browser sends: kast decides with
        # Cache-Control. Its answers for gated tracks (registered events)
        # say "private" and are never stored or shared, so every such
        # request reaches kast with its credential; public tracks are
        # "public" (blocking playlists, max-age=1) or "immutable" (parts,
        # segments, init sections), and playlists without a query or
        # errors "no-cache". The cache key is the URL with its query
        # (_HLS_msn, _HLS_part), Varnish's default.
        return (hash);
    }
    # Pages, the API and WHEP/WHIP signalling go to kast uncached.
    return (pass);
}

sub vcl_pipe {
    if (req.http.Upgrade) {
        set bereq.http.Upgrade = req.http.Upgrade;
        set bereq.http.Connection = req.http.Connection;
    }
}

sub vcl_backend_response {
    # Varnish's own rules (vcl_builtin) then apply: "private", "no-cache"
    # and "no-store" answers are not stored. A blocking playlist reload
    # never changes once answered: no grace period is needed for it, nor
    # for parts, which never change either.
    set beresp.grace = 0s;
}

sub vcl_deliver {
    # HIT, MISS or PASS, as deploy/nginx's X-Cache-Status.
    if (obj.uncacheable) {
        set resp.http.X-Cache-Status = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache-Status = "HIT";
    } else {
        set resp.http.X-Cache-Status = "MISS";
    }
}
