"""{{name}}: a transport plugin. It POSTs the message as JSON to the AI's `url` and streams the
response body back as the answer, piece by piece. Change `send` and `receive` to speak your
backend's protocol."""

import codecs
import json
import sys

from componentize_py_types import Err
from wit_world.exports import transport
from wit_world.imports import http
from wit_world.imports.types import ErrorKind, Event_Done, Event_Token, TransportError

# The error kind aish needs to choose a fallback or a retry.
KINDS = {
    http.HttpError_Denied: ErrorKind.DENIED,
    http.HttpError_Connect: ErrorKind.CONNECT,
    http.HttpError_Timeout: ErrorKind.CONNECT,
    http.HttpError_Io: ErrorKind.INTERRUPTED,
    http.HttpError_InvalidRequest: ErrorKind.INVALID_INPUT,
}


def error(kind: ErrorKind, message: str, status: int | None = None) -> Err:
    """A transport error: raising it fails the call with it."""
    return Err(TransportError(kind=kind, message=message, status=status, retry_after_ms=None))


def failed(e: Err) -> Err:
    """A failed host call (its `Err` holds an `http.HttpError_*`) as a transport error."""
    return error(KINDS[type(e.value)], e.value.value)


class StreamWrapper(transport.StreamWrapper):
    """One conversation with the AI at `options.url`."""

    def __init__(self, options):
        self.options = options
        # The response being read, once a message is sent.
        self.response = None
        # Keeps a character cut between two pieces for the next one.
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    @classmethod
    def connect(cls, options) -> "StreamWrapper":
        return cls(options)

    def send(self, message) -> None:
        headers = [("content-type", "application/json")]
        if self.options.api_key:
            headers.append(("authorization", f"Bearer {self.options.api_key}"))
        body = json.dumps({"message": message.message, "model": self.options.model}).encode()
        request = http.Request("POST", self.options.url, headers, body, idle_timeout_ms=None)
        try:
            response = http.send(request)
        except Err as e:
            raise failed(e)
        status = response.status()
        if not 200 <= status < 300:
            raise error(ErrorKind.SERVER, f"the server answered HTTP {status}", status)
        self.response = response
        self.decoder.reset()

    def receive(self) -> list:
        # aish calls this until it gets an empty list: tokens, then `done`, then nothing.
        if self.response is None:
            return []
        try:
            while (piece := self.response.read()) is not None:
                text = self.decoder.decode(piece)
                # A piece may hold only part of a character: read on rather than answer nothing.
                if text:
                    return [Event_Token(text)]
        except Err as e:
            raise failed(e)
        self.response = None
        rest = self.decoder.decode(b"", final=True)
        return ([Event_Token(rest)] if rest else []) + [Event_Done(None)]

    def heartbeat(self) -> None:
        pass

    def close(self) -> None:
        self.response = None


# componentize-py looks an exported resource up in a top-level module named after its
# interface (`transport`); this file is that module.
sys.modules["transport"] = sys.modules[__name__]
