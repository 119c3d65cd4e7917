"""Reading GNU C inline assembly statements out of C source text (for the
tests that check constraints and clobbers of our asm).

    asm_statements(c_text) -> [AsmStatement]
        every `__asm__`/`asm` statement of c_text, in order; raises
        ValueError when a statement has no closing parenthesis.

    AsmStatement.template   the instructions: the string literals of the
                            first section, concatenated and unescaped
    AsmStatement.outputs / .inputs / .clobbers
                            the text of the operand sections ('' when absent)
    AsmStatement.clobber_names  the clobbers as a list of names ('memory', ...)
    AsmStatement.has_operands   True when there is any output or input
    AsmStatement.text       the whole statement, for messages

Comments are not understood: the sources checked have none inside asm.
"""

import re

_ASM_START = re.compile(r'\b(?:__asm__|__asm|asm)\b((?:\s+(?:volatile|__volatile__|inline|goto))*)'
                        r'\s*\(')
_STRING_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)


class AsmStatement(object):
    def __init__(self, text, sections):
        self.text = text
        sections = sections + [''] * (4 - len(sections))
        self.template = ''.join(m.group(1).decode('string_escape')      # Python 2 str
                                for m in _STRING_LITERAL.finditer(sections[0]))
        self.outputs, self.inputs, self.clobbers = [s.strip() for s in sections[1:4]]
        self.clobber_names = [m.group(1) for m in _STRING_LITERAL.finditer(self.clobbers)]
        self.has_operands = bool(self.outputs or self.inputs)

    def __repr__(self):
        return 'AsmStatement(%r)' % self.text


def _split_statement(c_text, open_paren):
    """Returns (end, sections): the index just past the parenthesis closing
    the one at open_paren, and the text between them split at the colons
    that stand outside strings and nested parentheses."""
    depth = 0
    sections = []
    current = []
    i = open_paren
    while i < len(c_text):
        ch = c_text[i]
        if ch == '"':
            literal = _STRING_LITERAL.match(c_text, i)
            if literal is None:
                raise ValueError('unterminated string at %d' % i)
            current.append(literal.group(0))
            i = literal.end()
            continue
        if ch == '(':
            depth += 1
            if depth > 1:
                current.append(ch)
        elif ch == ')':
            depth -= 1
            if depth == 0:
                sections.append(''.join(current))
                return i + 1, sections
            current.append(ch)
        elif ch == ':' and depth == 1:
            sections.append(''.join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    raise ValueError('asm statement at %d has no closing parenthesis' % open_paren)


def asm_statements(c_text):
    """Returns the AsmStatements of c_text in order (see the module doc)."""
    found = []
    pos = 0
    while True:
        match = _ASM_START.search(c_text, pos)
        if match is None:
            return found
        end, sections = _split_statement(c_text, match.end() - 1)
        found.append(AsmStatement(c_text[match.start():end], sections))
        pos = end
