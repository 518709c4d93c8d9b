"""The one error type the teacher sees: a single line naming where the problem is and what it is."""


class NbfleetError(Exception):
    """A problem with the teacher's input or environment, shown as one line and a non-zero exit.

    ``where`` names the file (and line, column or key) at fault; ``what`` says what is wrong.
    """

    def __init__(self, where: str, what: str):
        self.where = str(where)
        self.what = what
        super().__init__(f"{self.where}: {what}" if self.where else what)
