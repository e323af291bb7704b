// {{name}}: a transport plugin. It POSTs the message as JSON to the AI's `url` and streams the
// response body back as the answer, piece by piece. Change `send` and `receive` to speak your
// backend's protocol.

import { send } from 'aish:plugin/http@0.3.0';

// The error kind aish needs to choose a fallback or a retry, by `http-error` case.
const KINDS = {
  denied: 'denied',
  connect: 'connect',
  timeout: 'connect',
  io: 'interrupted',
  'invalid-request': 'invalid-input',
};

// A failed host call throws an Error whose `payload` is the `http-error` ({tag, val}). A call
// fails by throwing the `transport-error` record itself: a thrown Error would be a crash.
function failed(e) {
  const kind = KINDS[e?.payload?.tag];
  if (!kind) throw e; // not a failed host call but a bug: let it crash
  return { kind, message: e.payload.val };
}

/** One conversation with the AI at `options.url`. */
class StreamWrapper {
  static connect(options) {
    return new StreamWrapper(options);
  }

  constructor(options) {
    this.options = options;
    // The response being read, once a message is sent.
    this.response = null;
    this.decoder = null;
  }

  send(message) {
    const headers = [['content-type', 'application/json']];
    if (this.options.apiKey) headers.push(['authorization', `Bearer ${this.options.apiKey}`]);
    const json = JSON.stringify({ message: message.message, model: this.options.model ?? null });
    const body = new TextEncoder().encode(json);
    let response;
    try {
      response = send({ method: 'POST', url: this.options.url, headers, body });
    } catch (e) {
      throw failed(e);
    }
    const status = response.status();
    if (status < 200 || status > 299) {
      throw { kind: 'server', message: `the server answered HTTP ${status}`, status };
    }
    this.response = response;
    // Keeps a character cut between two pieces for the next one.
    this.decoder = new TextDecoder();
  }

  receive() {
    // aish calls this until it gets an empty list: tokens, then `done`, then nothing.
    if (!this.response) return [];
    try {
      let piece;
      while ((piece = this.response.read()) !== undefined) {
        const text = this.decoder.decode(piece, { stream: true });
        // A piece may hold only part of a character: read on rather than answer nothing.
        if (text) return [{ tag: 'token', val: text }];
      }
    } catch (e) {
      throw failed(e);
    }
    this.release();
    const rest = this.decoder.decode();
    return [...(rest ? [{ tag: 'token', val: rest }] : []), { tag: 'done' }];
  }

  heartbeat() {}

  close() {
    this.release();
  }

  // Lets go of the response, and its connection, now rather than when the garbage collector
  // runs: aish keeps this instance for the next answer only once it holds no connection.
  release() {
    this.response?.[Symbol.dispose]?.();
    this.response = null;
  }
}

// The exported `transport` interface and its resource.
export const transport = { StreamWrapper };
