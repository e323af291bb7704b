"""{{name}}: a stage plugin. It upper-cases its input as it streams through; change `push`
and `finish` to make it yours."""

import sys

from wit_world.exports import stage


class Processor(stage.Processor):
    """One run of the stage over one input."""

    @classmethod
    def create(cls, args: list[str], context: str) -> "Processor":
        # `args` are the words after the stage's name in a pipeline; to refuse them,
        # `raise componentize_py_types.Err("a one-line reason")`.
        return cls()

    def push(self, chunk: str) -> str:
        # Output returned here is passed on as it is ready; a stage that needs its whole input keeps the
        # chunks and answers in `finish`.
        return chunk.upper()

    def finish(self) -> str:
        return ""


# componentize-py looks an exported resource up in a top-level module named after its
# interface (`stage`); this file is that module.
sys.modules["stage"] = sys.modules[__name__]
