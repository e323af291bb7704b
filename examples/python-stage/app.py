"""wrap: a stage plugin that wraps its input to a width (default 60), keeping paragraphs."""

import re
import sys
import textwrap

from componentize_py_types import Err
from wit_world.exports import stage

USAGE = "usage: wrap [WIDTH], WIDTH a whole number of columns above 0 (default 60)"


class Processor(stage.Processor):
    """One run of the stage over one input."""

    def __init__(self, width: int):
        self.width = width
        self.chunks: list[str] = []

    @classmethod
    def create(cls, args: list[str], context: str) -> "Processor":
        width = args[0] if args else "60"
        if len(args) > 1 or not width.isdecimal() or int(width) == 0:
            raise Err(USAGE)
        return cls(int(width))

    def push(self, chunk: str) -> str:
        # A paragraph can be wrapped only once it is whole: keep everything until the end.
        self.chunks.append(chunk)
        return ""

    def finish(self) -> str:
        text = "".join(self.chunks)
        if not text.strip():
            return text
        paragraphs = re.split(r"\n\s*\n", text.strip())
        # Long words (URLs) stay whole, past the width, rather than cut.
        wrapped = [textwrap.fill(p, self.width, break_long_words=False) for p in paragraphs]
        return "\n\n".join(wrapped) + ("\n" if text.endswith("\n") else "")


# componentize-py looks an exported resource up in a top-level module named after its
# interface (`stage`); this file is that module.
sys.modules["stage"] = sys.modules[__name__]
