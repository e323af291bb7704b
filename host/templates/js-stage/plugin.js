// {{name}}: a stage plugin. It upper-cases its input as it streams through; change `push` and
// `finish` to make it yours.

/** One run of the stage over one input. */
class Processor {
  static create(args, context) {
    // `args` are the words after the stage's name in a pipeline; to refuse them, throw a
    // string (a thrown `Error` is a crash, not an answer).
    return new Processor();
  }

  push(chunk) {
    // Output returned here is passed on as it is ready; a stage that needs its whole input keeps the
    // chunks and answers in `finish`.
    return chunk.toUpperCase();
  }

  finish() {
    return '';
  }
}

// The exported `stage` interface and its resource.
export const stage = { Processor };
