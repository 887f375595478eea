#!/usr/bin/python3
"""aiortc_whip.py WHIP_URL STREAM_KEY [SECONDS]

A WHIP client (RFC 9725) that kast did not write: aiortc (Debian's
python3-aiortc, with its own ICE, DTLS and SRTP) publishes a moving test
pattern (H.264 through libx264) and a 440 Hz tone (Opus), both from
ffmpeg's lavfi through aiortc's MediaPlayer. It POSTs its offer with the
stream key as bearer token, applies the answer, publishes for SECONDS
(default 12) and DELETEs the session URL. Against a server on loopback it
gathers loopback candidates only.

Prints JSON lines: {"event": "live", ...} once ICE/DTLS connected, and
{"event": "done", "status": ..., "connected": ..., "video_codec": ...,
"delete_status": ...} at the end. Exit 0 when it connected and the DELETE
answered 200, 1 otherwise.

Run it with /usr/bin/python3: aiortc is a Debian package, not in a
virtualenv's python3.
"""

import asyncio
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import aioice.ice
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

SOURCE = (
    "testsrc2=size=640x360:rate=30[out0];"
    "sine=frequency=440:sample_rate=48000[out1]"
)


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def answer_codec(sdp, kind):
    """The first codec the answer lists for kind: what aiortc sends."""
    section = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            section = line.startswith("m=" + kind)
        elif section and line.startswith("a=rtpmap:"):
            return line.split(" ", 1)[1]
    return None


def emit(obj):
    print(json.dumps(obj), flush=True)


async def main(url, key, seconds):
    out = {"event": "done", "status": None, "connected": False, "video_codec": None, "delete_status": None}
    player = MediaPlayer(SOURCE, format="lavfi")
    pc = RTCPeerConnection()
    connected = asyncio.Event()

    @pc.on("connectionstatechange")
    def on_state():
        if pc.connectionState == "connected":
            connected.set()

    video = pc.addTransceiver(player.video, direction="sendonly")
    h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() == "video/h264"]
    video.setCodecPreferences(h264)
    pc.addTransceiver(player.audio, direction="sendonly")

    await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate
    status, headers, body = http(
        "POST", url, pc.localDescription.sdp.encode(),
        {"Content-Type": "application/sdp", "Authorization": "Bearer " + key},
    )
    out["status"] = status
    if status != 201:
        out["error"] = body.strip()
        emit(out)
        await pc.close()
        return 1
    location = urllib.parse.urljoin(url, headers.get("Location", ""))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    try:
        await asyncio.wait_for(connected.wait(), 15)
    except asyncio.TimeoutError:
        out["error"] = "ICE/DTLS did not connect (state %s)" % pc.connectionState
        emit(out)
        await pc.close()
        return 1
    out["connected"] = True
    out["video_codec"] = answer_codec(body, "video")
    emit({"event": "live"})
    end = time.monotonic() + seconds
    while time.monotonic() < end and pc.connectionState == "connected":
        await asyncio.sleep(0.5)
    out["state_at_end"] = pc.connectionState
    out["delete_status"] = http("DELETE", location)[0]
    await pc.close()
    emit(out)
    return 0 if out["delete_status"] == 200 else 1


def loopback_only():
    """Gather candidates on 127.0.0.1 only, as the tests' pion peers do:
    tests talk to kast over loopback (aioice leaves loopback out by
    default). aiortc's ICE, DTLS and SRTP are otherwise its own."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if urllib.parse.urlsplit(sys.argv[1]).hostname in ("127.0.0.1", "localhost", "::1"):
        loopback_only()
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 12)))
