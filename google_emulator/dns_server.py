"""A tiny authoritative DNS server answering TXT records configured through the control API."""

from __future__ import annotations

import socketserver

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer


class _QuietLogger(DNSLogger):
    def __init__(self):
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)

    def log_error(self, handler, e):  # noqa: D401 - keep errors silent in tests
        pass


class TxtResolver(BaseResolver):
    def __init__(self, state):
        self.state = state

    def resolve(self, request, handler):
        reply = request.reply()
        reply.header.aa = 1
        qname = request.q.qname
        name = str(qname).rstrip(".").lower()
        with self.state.lock:
            values = list(self.state.dns.get(name, [])) if name in self.state.dns else None
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
            for value in values:
                data = value.encode()
                chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
                reply.add_answer(RR(qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        return reply


class _UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    allow_reuse_address = True
    daemon_threads = True


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


class DnsServer:
    """UDP + TCP on the same port (port 0 picks a free one)."""

    def __init__(self, state, host: str = "127.0.0.1", port: int = 0):
        resolver = TxtResolver(state)
        logger = _QuietLogger()
        last_error = None
        for _ in range(20):
            udp = DNSServer(resolver, address=host, port=port, logger=logger, handler=DNSHandler, server=_UDPServer)
            chosen = udp.server.server_address[1]
            try:
                tcp = DNSServer(resolver, address=host, port=chosen, tcp=True, logger=logger, handler=DNSHandler,
                                server=_TCPServer)
            except OSError as exc:
                udp.server.server_close()
                last_error = exc
                if port:
                    raise
                continue
            self.udp, self.tcp, self.port = udp, tcp, chosen
            break
        else:
            raise last_error or OSError("could not bind DNS server")
        self.host = host

    def start(self) -> None:
        self.udp.start_thread()
        self.tcp.start_thread()

    def stop(self) -> None:
        for srv in (self.udp, self.tcp):
            try:
                srv.stop()
            finally:
                srv.server.server_close()

