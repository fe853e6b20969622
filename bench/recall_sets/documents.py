"""The `documents` set: Python's language reference topics, with questions a programmer asks.

The haystack is real public text that ships with every Python: the 79 topics of the stdlib
module `pydoc_data.topics` (what `help("assignment")` prints), about 465,000 characters in
all, some 500 chunks of about 1,000 characters once chunked. Each topic is one `Item` (id:
the topic's name, title: its first heading line, text: the topic as it is), kept whether or
not a question points at it.

The questions were written by hand after reading the topic texts, in a programmer's own
words ("paraphrase") or around the exact keyword, operator, dunder or builtin they would
type ("identifier"). Each has one `Evidence`: the topic and a short verbatim quote (4 to 12
words, on one line of the text) of the passage that answers it.

Several topics are copies of sections of larger ones (`try`, `with`, `for`, `function` and
`class` are sections of `compound`; `customization`, `attribute-access`, `numeric-types`
and `sequence-types` of `specialnames`; `naming` and `exceptions` of `execmodel`; and so
on), so a passage there is stored twice and no quote of it can point at one item alone.
The questions therefore ask only about passages whose text occurs once in the whole
corpus, and every quote is checked to occur exactly once.

The text is the running Python's own `pydoc_data`, which differs slightly between Python
versions: the quotes are checked against this project's Python 3.11 (`.venv/bin/python`).
Run `python -m bench.recall_sets.documents` to print a summary and check the set; on
another Python version some quotes may be reported missing.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

from bench.recall_sets import Evidence, Item, LabelledSet, Question

PARA = "paraphrase"  # asked in other words than the passage
IDENT = "identifier"  # asked with the keyword, operator, dunder or builtin a user would type

KINDS = (PARA, IDENT)
MIN_QUESTIONS = 120
MIN_TOPICS = 40
MIN_SHARE = {PARA: 0.60, IDENT: 0.25}
QUOTE_WORDS = (4, 12)

# (topic, kind, question, quote of the answering passage)
QUESTIONS: tuple[tuple[str, str, str, str], ...] = (
    # --- assert
    (
        "assert",
        PARA,
        "Do my assert checks still run when Python is started with optimizations turned on?",
        "The current code generator emits no code for an",
    ),
    (
        "assert",
        IDENT,
        "Can I assign a new value to `__debug__`?",
        'Assignments to "__debug__" are illegal.',
    ),
    # --- assignment
    (
        "assignment",
        PARA,
        "In `i, x[i] = 1, 2`, is the index taken from the old i or the new one?",
        "collection of assigned-to variables occur left-to-right, sometimes",
    ),
    (
        "assignment",
        IDENT,
        "Why does `inst.x = inst.x + 1` leave the class attribute `x` unchanged?",
        'target "a.x" is always set as an instance attribute, creating it if',
    ),
    (
        "assignment",
        PARA,
        "Can assigning to an index one past the end of a list append a new item?",
        "subscripted sequence cannot add new items to a list).",
    ),
    (
        "assignment",
        PARA,
        "When unpacking with a starred name, can the starred variable end up with nothing?",
        "assigned to the starred target (the list can be empty).",
    ),
    (
        "assignment",
        PARA,
        "Are type annotations on local variables inside a function evaluated at run time?",
        "for that scope. Annotations are never evaluated and stored in function",
    ),
    (
        "assignment",
        PARA,
        "Where do annotations of module-level variables end up being stored?",
        'attribute "__annotations__" that is a dictionary mapping from variable',
    ),
    # --- atom-identifiers
    (
        "atom-identifiers",
        PARA,
        "Why does an attribute whose name starts with two underscores get the class name "
        "glued in front of it?",
        'occurring in a class named "Ham" will be transformed to "_Ham__spam".',
    ),
    (
        "atom-identifiers",
        PARA,
        "What happens to name mangling when the class name is nothing but underscores?",
        "If the class name consists only of underscores, no",
    ),
    # --- atom-literals
    (
        "atom-literals",
        PARA,
        "If I write the same number literal twice, am I guaranteed to get one and the same object?",
        "the same object or a different object with the same value.",
    ),
    # --- attribute-references
    (
        "attribute-references",
        PARA,
        "Can evaluating the same attribute access on an object twice give back two different "
        "objects?",
        "of the same attribute reference may yield different objects.",
    ),
    # --- await
    (
        "await",
        IDENT,
        "What does an `await` expression do to the coroutine that is running it?",
        "Suspend the execution of *coroutine* on an *awaitable* object.",
    ),
    # --- binary
    (
        "binary",
        PARA,
        "What sign does the remainder have when I take a negative number modulo a positive one?",
        "The modulo operator always yields a result with the same sign",
    ),
    (
        "binary",
        IDENT,
        "Does any built-in type implement the `@` operator?",
        "No builtin Python types implement this operator.",
    ),
    (
        "binary",
        PARA,
        "Why can't I floor-divide two complex numbers or take their remainder?",
        "function are not defined for complex numbers.",
    ),
    (
        "binary",
        PARA,
        "Does dividing one whole number by another give a whole number or a fraction?",
        "Division of integers yields a float, while",
    ),
    (
        "binary",
        IDENT,
        "How are `//` and `%` tied together, and how do they relate to `divmod()`?",
        "The floor division and modulo operators are connected by the following",
    ),
    # --- bitwise
    (
        "bitwise",
        IDENT,
        "Do `&`, `^` and `|` all share one precedence level?",
        "Each of the three bitwise operations has a different priority level:",
    ),
    # --- bltin-code-objects
    (
        "bltin-code-objects",
        IDENT,
        "Can I hand a code object to `exec()` instead of a source string?",
        "A code object can be executed or evaluated by passing it",
    ),
    (
        "bltin-code-objects",
        IDENT,
        "Does reading a function's `__code__` attribute fire an audit hook?",
        'Accessing "__code__" raises an auditing event "object.__getattr__"',
    ),
    # --- bltin-ellipsis-object
    (
        "bltin-ellipsis-object",
        IDENT,
        "What do I get back from calling `type(Ellipsis)()`?",
        '"Ellipsis" (a built-in name). "type(Ellipsis)()" produces the',
    ),
    # --- bltin-null-object
    (
        "bltin-null-object",
        IDENT,
        "Does `type(None)()` build a second None object?",
        'object, named "None" (a built-in name). "type(None)()" produces the',
    ),
    # --- bltin-type-objects
    (
        "bltin-type-objects",
        PARA,
        "Is there a module that gives names to all the built-in types?",
        'The standard module "types" defines names for',
    ),
    # --- booleans
    (
        "booleans",
        IDENT,
        "How can I use `or` to fall back to a default when a string is empty?",
        "\"s or 'foo'\" yields the desired value.",
    ),
    (
        "booleans",
        IDENT,
        "Why does `not 'foo'` give False rather than an empty string?",
        "it returns a boolean value regardless of the type of its",
    ),
    # --- break
    (
        "break",
        PARA,
        "After I leave a for loop early, what value is left in the loop variable?",
        'If a "for" loop is terminated by "break", the loop control target',
    ),
    # --- calls
    (
        "calls",
        PARA,
        "What error do I get if I pass the same argument both by position and by name?",
        'already filled, a "TypeError" exception is raised. Otherwise, the',
    ),
    (
        "calls",
        PARA,
        "Where do the extra positional arguments end up when a function accepts any number "
        "of them?",
        "parameter receives a tuple containing the excess positional arguments",
    ),
    (
        "calls",
        IDENT,
        "Can a key of the dict I unpack with `**` into a call be something that isn't a valid "
        "identifier?",
        "A key need not be a Python identifier",
    ),
    (
        "calls",
        IDENT,
        "Why does `f(a=1, *(2,))` complain that `a` got multiple values?",
        "appear *after* explicit keyword arguments, it is processed *before*",
    ),
    (
        "calls",
        PARA,
        "Why can't I pass some arguments of C-implemented builtins by keyword even though the "
        "docs give them names?",
        "built-in functions whose positional parameters do not have names, even",
    ),
    # --- comparisons
    (
        "comparisons",
        PARA,
        "Why is a NaN value not equal to itself?",
        "A counter-intuitive implication is that not-a-number",
    ),
    (
        "comparisons",
        IDENT,
        "Should I test for None with `==` or with `is`?",
        'comparisons for singletons should always be done with "is" or "is',
    ),
    (
        "comparisons",
        PARA,
        "In a chained comparison like a < b < c, is the middle operand evaluated twice?",
        'except that "y" is evaluated only',
    ),
    (
        "comparisons",
        IDENT,
        "Is `[1,2] == (1,2)` true?",
        'elements must compare equal (for example, "[1,2] == (1,2)" is',
    ),
    (
        "comparisons",
        PARA,
        "Why do min(), max() and sorted() give odd results on a list of sets?",
        "appropriate arguments for functions which depend on total ordering",
    ),
    (
        "comparisons",
        PARA,
        "By default, when are two instances of my own class considered equal?",
        'The default behavior for equality comparison ("==" and "!=") is based',
    ),
    (
        "comparisons",
        PARA,
        "Can a str be compared directly with a bytes object?",
        "Strings and binary sequences cannot be directly compared.",
    ),
    (
        "comparisons",
        IDENT,
        "Is an expression like `x < y > z` even legal?",
        '"x < y > z" is perfectly legal (though',
    ),
    (
        "comparisons",
        PARA,
        "May my rich comparison methods return something other than True or False?",
        "comparison methods* may return non-boolean values. In this case Python",
    ),
    # --- compound (its own passages: the introduction and the match statement)
    (
        "compound",
        PARA,
        "Why is nesting a second if on the same line as the first if a syntax error?",
        'clear to which "if" clause a following "else" clause would belong:',
    ),
    (
        "compound",
        PARA,
        "On a one-line if with several statements separated by semicolons, which of them "
        "does the condition control?",
        "Also note that the semicolon binds tighter than the colon in this",
    ),
    (
        "compound",
        PARA,
        "Are variables captured while pattern matching still around after the whole match "
        "block has finished?",
        "bindings made during a successful pattern match outlive the",
    ),
    (
        "compound",
        PARA,
        "Can I put a catch-all case anywhere other than last in a match statement?",
        "may have at most one irrefutable case block, and it must be",
    ),
    (
        "compound",
        PARA,
        "Will a sequence pattern take a string apart into its characters?",
        'If the subject value is an instance of "str", "bytes" or',
    ),
    (
        "compound",
        PARA,
        "Why can't I use the same capture name twice in one pattern?",
        "In a given pattern, a given name can only be bound once.",
    ),
    (
        "compound",
        IDENT,
        "Is `_` an ordinary variable inside a `case` pattern?",
        '"_" is a soft keyword within any pattern, but only within patterns.',
    ),
    (
        "compound",
        PARA,
        "If the guard condition of a case raises an error, what happens to the match?",
        'If the "guard" raises an exception during evaluation, the',
    ),
    (
        "compound",
        PARA,
        "Does a mapping pattern still match when the dictionary has extra keys it doesn't mention?",
        "every key given in the mapping pattern is present in the subject",
    ),
    (
        "compound",
        IDENT,
        "Will a mapping pattern see keys that a dict's `__missing__` would make up?",
        "already be present in the mapping, and not created on-the-fly via",
    ),
    (
        "compound",
        PARA,
        "Are duplicate keys allowed in a mapping pattern?",
        "Duplicate keys in mapping patterns are disallowed. Duplicate literal",
    ),
    (
        "compound",
        IDENT,
        "Does `case int(0|1)` match its argument against an attribute or the whole value?",
        "there is matched against the whole object rather than an attribute.",
    ),
    (
        "compound",
        PARA,
        "Does it matter whether I write a sequence pattern with parentheses or with square "
        "brackets?",
        "There is no difference if parentheses or square brackets are used for",
    ),
    (
        "compound",
        PARA,
        "How many starred sub-patterns can one sequence pattern contain?",
        "At most one star subpattern may be in a sequence pattern.",
    ),
    (
        "compound",
        PARA,
        "Can a guard have side effects, and in what order are the guards evaluated?",
        "Guards are allowed to have side effects as they are expressions.",
    ),
    (
        "compound",
        IDENT,
        "When a case pattern is a dotted name like `Color.RED`, how is it compared with the "
        "subject?",
        'equal to the subject value (using the "==" equality operator).',
    ),
    (
        "compound",
        IDENT,
        "For `case None:` does the match compare with `==` or with `is`?",
        'For the singletons "None", "True" and "False", the "is"',
    ),
    (
        "compound",
        PARA,
        "Can an f-string be used as a literal pattern in a case clause?",
        "byte strings are supported. Formatted string literals are not",
    ),
    # --- continue
    (
        "continue",
        PARA,
        "When a continue jumps out of a try block that has a finally, does the finally part "
        "still run?",
        "starting the next loop cycle.",
    ),
    # --- conversions
    (
        "conversions",
        PARA,
        "When I add an int and a float, which type are both converted to?",
        "otherwise, if either argument is a floating point number, the other",
    ),
    # --- debugger
    (
        "debugger",
        IDENT,
        "What is the difference between `next` and `step` in pdb?",
        'is that "step" stops inside a called function, while "next"',
    ),
    (
        "debugger",
        PARA,
        "How can I set a breakpoint that goes away after it has been hit once?",
        "Temporary breakpoint, which is removed automatically when it is",
    ),
    (
        "debugger",
        PARA,
        "How do I have the debugger run some commands automatically whenever a particular "
        "breakpoint is reached?",
        "Specify a list of commands for breakpoint number *bpnumber*.",
    ),
    (
        "debugger",
        PARA,
        "Why doesn't the debugger's watch expression notice when my list gets appended to?",
        "previous evaluation of *expression*, so when the result is",
    ),
    (
        "debugger",
        PARA,
        "Can the debugger move execution into the middle of a loop or out of a finally block?",
        "not all jumps are allowed – for instance it",
    ),
    (
        "debugger",
        PARA,
        "How do I keep the debugger from stepping into frames of third-party modules?",
        "The *skip* argument, if given, must be an iterable of glob-style",
    ),
    (
        "debugger",
        IDENT,
        "If there is a `.pdbrc` in both my home directory and the current directory, which "
        "one wins?",
        "directory is read first and aliases defined there can be overridden by",
    ),
    (
        "debugger",
        PARA,
        "How do I inspect the state of a program after it has crashed in the interactive "
        "interpreter?",
        "Enter post-mortem debugging of the traceback found in",
    ),
    (
        "debugger",
        IDENT,
        "What does `python -m pdb myscript.py` do when the script dies with an exception?",
        "When invoked as a module, pdb will automatically enter post-mortem",
    ),
    (
        "debugger",
        PARA,
        "How do I type two debugger commands on one line?",
        'Multiple commands may be entered on a single line, separated by ";;".',
    ),
    (
        "debugger",
        PARA,
        "While debugging, how do I see what the function I just stepped out of returned?",
        "Print the return value for the last return of the current function.",
    ),
    (
        "debugger",
        IDENT,
        "What does calling `breakpoint()` in my code do?",
        'New in version 3.7: The built-in "breakpoint()", when called with',
    ),
    (
        "debugger",
        PARA,
        "How do I change a global variable from the debugger prompt?",
        "global variable, you can prefix the assignment command with a",
    ),
    (
        "debugger",
        PARA,
        "What happens if I just press Enter on an empty debugger prompt?",
        "Entering a blank line repeats the last command entered.",
    ),
    (
        "debugger",
        PARA,
        "Can I open a full Python shell with the current frame's variables while debugging?",
        'Start an interactive interpreter (using the "code" module) whose',
    ),
    # --- del
    (
        "del",
        IDENT,
        "Which namespace does `del x` remove x from when x is declared `global`?",
        'global namespace, depending on whether the name occurs in a "global"',
    ),
    (
        "del",
        PARA,
        "Is deleting a slice the same as assigning an empty sequence to that slice?",
        "equivalent to assignment of an empty slice of the right type",
    ),
    # --- dict
    (
        "dict",
        PARA,
        "If I write the same key twice in a dict literal, which value is kept?",
        "multiple times in the dict item list, and the final dictionary’s value",
    ),
    (
        "dict",
        PARA,
        "In a dict comprehension, is the key or the value computed first?",
        "the key is evaluated before the value, as proposed by **PEP 572**.",
    ),
    (
        "dict",
        IDENT,
        "What does `**` do inside a dictionary literal?",
        'A double asterisk "**" denotes *dictionary unpacking*. Its operand',
    ),
    # --- execmodel
    (
        "execmodel",
        PARA,
        "Is each statement I type at the interactive prompt a separate code block?",
        "command typed interactively is a block.",
    ),
    (
        "execmodel",
        IDENT,
        "Is a string I pass to `exec()` treated as its own code block?",
        'and "exec()" is a code block.',
    ),
    # --- exprlists
    (
        "exprlists",
        IDENT,
        "Can I use `*` to unpack several iterables inside a tuple expression like `(*a, *b)`?",
        'An asterisk "*" denotes *iterable unpacking*. Its operand must be an',
    ),
    # --- floating
    (
        "floating",
        PARA,
        "Is a float literal with a leading zero, like 077e010, allowed?",
        'radix 10. For example, "077e010" is legal, and denotes the same number',
    ),
    # --- formatstrings
    (
        "formatstrings",
        PARA,
        "How do I put a literal curly brace into a format string?",
        "brace character in the literal text, it can be escaped by doubling:",
    ),
    (
        "formatstrings",
        IDENT,
        "What do `!r`, `!s` and `!a` do in a replacement field?",
        "Three conversion flags are currently supported: \"'!s'\" which calls",
    ),
    (
        "formatstrings",
        PARA,
        "How do I get thousands separators when formatting a number?",
        "option signals the use of a comma for a thousands separator.",
    ),
    (
        "formatstrings",
        IDENT,
        "What does the `z` option in a format specification do?",
        "The \"'z'\" option coerces negative zero floating-point values to",
    ),
    (
        "formatstrings",
        PARA,
        "How do I pad a negative number with zeros so that the minus sign stays in front?",
        "zero (\"'0'\") character enables sign-aware zero-padding for numeric",
    ),
    (
        "formatstrings",
        PARA,
        "Can the width or the precision of a format spec be taken from another argument?",
        "A *format_spec* field can also include nested replacement fields",
    ),
    (
        "formatstrings",
        PARA,
        "How do I show a fraction like 0.25 as a percentage?",
        "Percentage. Multiplies the number by 100 and displays in",
    ),
    (
        "formatstrings",
        PARA,
        "Can I give a precision when formatting an integer as a decimal integer?",
        "The *precision* is not allowed for integer",
    ),
    (
        "formatstrings",
        PARA,
        "How do I get the 0x or 0b prefix included when formatting an integer?",
        "used, this option adds the respective prefix \"'0b'\", \"'0o'\", \"'0x'\",",
    ),
    (
        "formatstrings",
        PARA,
        "Are numbers aligned to the right or to the left by default when I give a width?",
        "space (this is the default for numbers).",
    ),
    (
        "formatstrings",
        PARA,
        "Can a replacement field look up an arbitrary dictionary key such as the string '10'?",
        "delimited, it is not possible to specify arbitrary dictionary keys",
    ),
    # --- global
    (
        "global",
        IDENT,
        "Does a `global` statement inside a string passed to `exec()` affect the code that "
        "calls it?",
        'or code object supplied to the built-in "exec()" function does not',
    ),
    (
        "global",
        PARA,
        "Can I use a variable in a function before the line that declares it global?",
        'block textually preceding that "global" statement.',
    ),
    (
        "global",
        PARA,
        "Can a function parameter or a for-loop variable be declared global?",
        'Names listed in a "global" statement must not be defined as formal',
    ),
    # --- identifiers
    (
        "identifiers",
        PARA,
        "Is there a maximum length for variable names, and does case matter?",
        "Identifiers are unlimited in length. Case is significant.",
    ),
    (
        "identifiers",
        PARA,
        "Are two names that differ only in Unicode normalization treated as the same name?",
        "All identifiers are converted into the normal form NFKC while parsing;",
    ),
    (
        "identifiers",
        IDENT,
        "Can I keep using `match` as a variable name now that there is a match statement?",
        'still preserving compatibility with existing code that uses "match",',
    ),
    # --- imaginary
    (
        "imaginary",
        PARA,
        "What is the real part of a number written like 3j?",
        "yields a complex number with a real part of 0.0.",
    ),
    # --- import
    (
        "import",
        IDENT,
        "After `import foo.bar.baz`, which name is bound in my namespace?",
        "the top level package that contains the module is bound in",
    ),
    (
        "import",
        IDENT,
        "What decides which names `from module import *` brings in?",
        'module’s namespace for a variable named "__all__"; if defined, it must',
    ),
    (
        "import",
        PARA,
        "Can I use a wildcard import inside a function body?",
        "allowed at the module level. Attempting to use it in class or",
    ),
    (
        "import",
        PARA,
        "How many leading dots do I need to import from the parent package?",
        "package where the module making the import exists. Two dots means up",
    ),
    (
        "import",
        PARA,
        "What may appear above a future statement at the top of a module?",
        "A future statement must appear near the top of the module.",
    ),
    (
        "import",
        PARA,
        "Which future feature still changes anything in Python 3?",
        "The only feature that requires using the future statement is",
    ),
    (
        "import",
        PARA,
        "If I enable a future feature at the interactive prompt, does it last for the session?",
        "A future statement typed at an interactive interpreter prompt will",
    ),
    (
        "import",
        PARA,
        "How do I import a module whose name I only know at run time?",
        '"importlib.import_module()" is provided to support applications that',
    ),
    (
        "import",
        PARA,
        "When importing a name from a package fails to find an attribute, does Python try a "
        "submodule of that name?",
        "if not, attempt to import a submodule with that name and then",
    ),
    # --- integers
    (
        "integers",
        PARA,
        "Why is writing 0123 a syntax error in Python 3?",
        "Note that leading zeros in a non-zero decimal number are not allowed.",
    ),
    (
        "integers",
        PARA,
        "Where may underscores go in an integer literal like 1_000_000?",
        "One underscore can occur between digits, and after base specifiers",
    ),
    (
        "integers",
        PARA,
        "Is there a limit on how many digits an integer literal can have?",
        "no limit for the length of integer literals apart from what",
    ),
    # --- lambda
    (
        "lambda",
        PARA,
        "Can an anonymous inline function contain statements or type annotations?",
        "Note that functions created with lambda expressions cannot contain",
    ),
    # --- lists
    (
        "lists",
        PARA,
        "In what order are the items of a list written in square brackets evaluated?",
        "separated list of expressions is supplied, its elements are evaluated",
    ),
    # --- nonlocal
    (
        "nonlocal",
        IDENT,
        "Can `nonlocal` create a variable in the enclosing function if it does not exist yet?",
        '"global" statement, must refer to pre-existing bindings in an',
    ),
    (
        "nonlocal",
        PARA,
        "Can an inner function rebind a module-level variable with the nonlocal declaration?",
        "previously bound variables in the nearest enclosing scope excluding",
    ),
    # --- numbers
    (
        "numbers",
        PARA,
        "Is -1 a single number literal or an expression?",
        "is actually an expression composed of the unary operator",
    ),
    # --- objects
    ("objects", IDENT, "What does `id()` return in CPython?", 'For CPython, "id(x)" is the memory'),
    (
        "objects",
        PARA,
        "Can a tuple's value change even though tuples are immutable?",
        "immutable container object that contains a reference to a mutable",
    ),
    (
        "objects",
        PARA,
        "Will CPython reliably free objects that refer to each other in a cycle?",
        "unreachable, but is not guaranteed to collect garbage containing",
    ),
    (
        "objects",
        PARA,
        "After `c = []; d = []`, can c and d be the same list object?",
        'and "d" are guaranteed to refer to two different, unique, newly',
    ),
    (
        "objects",
        PARA,
        "Can catching an exception keep objects alive longer than I expect?",
        'Also note that catching an exception with a ‘"try"…"except"’ statement',
    ),
    # --- operator-summary
    (
        "operator-summary",
        IDENT,
        "What is `2**-1`, given how `**` binds with a unary minus on its right?",
        'bitwise unary operator on its right, that is, "2**-1" is "0.5".',
    ),
    (
        "operator-summary",
        IDENT,
        "For floats, is `abs(x % y) < abs(y)` always true?",
        'While "abs(x%y) < abs(y)" is true mathematically, for floats it',
    ),
    (
        "operator-summary",
        PARA,
        "Why can two strings that show the same accented letter compare unequal?",
        "The comparison operators on strings compare at the level of",
    ),
    (
        "operator-summary",
        PARA,
        "Which function gives a float remainder whose sign follows the first argument?",
        '"math.fmod()" returns a result whose sign matches the sign of the',
    ),
    (
        "operator-summary",
        PARA,
        "Do operators of equal precedence always group from left to right?",
        "the same box group left to right (except for exponentiation and",
    ),
    # --- pass
    (
        "pass",
        IDENT,
        "What is `pass` good for?",
        "is useful as a placeholder when a statement is required syntactically,",
    ),
    # --- power
    (
        "power",
        IDENT,
        "Why does `-1**2` evaluate to -1?",
        'the evaluation order for the operands): "-1**2" results in "-1".',
    ),
    (
        "power",
        PARA,
        "What do I get when I raise a negative number to a fractional power?",
        'Raising a negative number to a fractional power results in a "complex"',
    ),
    (
        "power",
        IDENT,
        "Does `10**-2` give an int or a float?",
        '"10**2" returns "100", but "10**-2" returns "0.01".',
    ),
    (
        "power",
        PARA,
        "What happens if I raise 0.0 to a negative exponent?",
        'Raising "0.0" to a negative power results in a "ZeroDivisionError".',
    ),
    # --- raise
    (
        "raise",
        IDENT,
        "What does a bare `raise` do when no exception is being handled?",
        "exception*. If there isn’t currently an active exception, a",
    ),
    (
        "raise",
        PARA,
        "How do I stop Python from printing the original error when I raise a new one in an "
        "exception handler?",
        'Exception chaining can be explicitly suppressed by specifying "None"',
    ),
    (
        "raise",
        IDENT,
        "What does `raise NewError from exc` set on the new exception?",
        'raised exception as the "__cause__" attribute (which is writable). If',
    ),
    (
        "raise",
        PARA,
        "If I modify the traceback of a caught exception and re-raise it, which traceback "
        "shows up?",
        'modified in an "except" clause, a subsequent "raise" statement re-',
    ),
    (
        "raise",
        PARA,
        "How do I attach my own traceback to an exception in the same statement that raises it?",
        'one step using the "with_traceback()" exception method (which returns',
    ),
    # --- return
    (
        "return",
        IDENT,
        "What happens to the value of a `return` statement inside a generator?",
        "returned value (if any) is used as an argument to construct",
    ),
    (
        "return",
        PARA,
        "Can an asynchronous generator return a value at the end?",
        "a syntax error in an asynchronous generator function.",
    ),
    # --- shifting
    (
        "shifting",
        IDENT,
        "How is `x >> n` defined in terms of division?",
        "right shift by *n* bits is defined as floor division by",
    ),
    # --- slicings
    (
        "slicings",
        IDENT,
        "When I write `a[1:2, 3]`, what key does `__getitem__` receive?",
        "contains at least one comma, the key is a tuple containing the",
    ),
    (
        "slicings",
        PARA,
        "How does the grammar decide between reading brackets as a slice or as a plain index?",
        "interpretation as a subscription takes priority over the",
    ),
    # --- specialattrs
    (
        "specialattrs",
        PARA,
        "How can I list the classes that directly inherit from a given class?",
        "Each class keeps a list of weak references to its immediate",
    ),
    (
        "specialattrs",
        IDENT,
        "Can a metaclass change the method resolution order by overriding `mro()`?",
        "This method can be overridden by a metaclass to customize the",
    ),
    (
        "specialattrs",
        IDENT,
        "What does `__qualname__` hold that `__name__` doesn't?",
        "The *qualified name* of the class, function, method, descriptor, or",
    ),
    # --- specialnames (its own passages: class creation, generics, special method lookup)
    (
        "specialnames",
        IDENT,
        "When is `__init_subclass__` called?",
        "This method is called whenever the containing class is subclassed.",
    ),
    (
        "specialnames",
        IDENT,
        "Do I need to decorate `__init_subclass__` with `@classmethod`?",
        "method, this method is implicitly converted to a class method.",
    ),
    (
        "specialnames",
        IDENT,
        "Is the `metaclass=` keyword of a class statement passed on to `__init_subclass__`?",
        'type machinery, and is never passed to "__init_subclass__"',
    ),
    (
        "specialnames",
        IDENT,
        "If I add a descriptor to a class after the class was created, is its `__set_name__` "
        "still called?",
        '"__set_name__()" will not be called automatically. If needed,',
    ),
    (
        "specialnames",
        PARA,
        "How is the metaclass chosen when the base classes have different metaclasses?",
        "The most derived metaclass is one which is a",
    ),
    (
        "specialnames",
        IDENT,
        "What is `__prepare__` on a metaclass used for?",
        'namespace is prepared. If the metaclass has a "__prepare__" attribute,',
    ),
    (
        "specialnames",
        PARA,
        "Why can't a method see the class's own variables by their bare names?",
        "methods defined inside the class still cannot see names defined at the",
    ),
    (
        "specialnames",
        IDENT,
        "What goes wrong if my metaclass doesn't pass `__classcell__` on to `type.__new__`?",
        '"__class__" cell is passed to the metaclass as a "__classcell__" entry',
    ),
    (
        "specialnames",
        PARA,
        "Is a class's namespace mapping the same dict object that its body filled in?",
        'proxy, which becomes the "__dict__" attribute of the class object.',
    ),
    (
        "specialnames",
        IDENT,
        "Can I define `__instancecheck__` as a class method on the class itself?",
        "They cannot be defined as class methods in the actual class.",
    ),
    (
        "specialnames",
        IDENT,
        "When does subscripting call `__class_getitem__` instead of `__getitem__`?",
        "However, if the object being subscribed is itself a class, the class",
    ),
    (
        "specialnames",
        IDENT,
        "Is it fine to use `__class_getitem__` for things other than type hints?",
        "for purposes other than type hinting is discouraged.",
    ),
    (
        "specialnames",
        IDENT,
        "Why does `len(c)` still fail after I set `c.__len__` on the instance?",
        "guaranteed to work correctly if defined on an object’s type, not in",
    ),
    (
        "specialnames",
        PARA,
        "How do I declare that my class does not support an operation, so that Python does "
        "not fall back to another method?",
        'Setting a special method to "None" indicates that the corresponding',
    ),
    (
        "specialnames",
        IDENT,
        "What happens if `__mro_entries__` returns an empty tuple?",
        "The returned tuple may be empty: in",
    ),
    (
        "specialnames",
        IDENT,
        "Does implicit special method lookup go through the metaclass's `__getattribute__`?",
        'the "__getattribute__()" method even of the object’s metaclass:',
    ),
    (
        "specialnames",
        PARA,
        "What are metaclasses actually useful for in practice?",
        "The potential uses for metaclasses are boundless. Some ideas that have",
    ),
    # --- string-methods
    (
        "string-methods",
        PARA,
        "How do I compare two strings ignoring case, including letters like the German ß?",
        "Casefolding is similar to lowercasing but more aggressive because",
    ),
    (
        "string-methods",
        IDENT,
        "Why does `'Arthur: three!'.lstrip('Arthur: ')` remove more than the prefix?",
        "The *chars* argument is not a prefix; rather,",
    ),
    (
        "string-methods",
        IDENT,
        "What is the difference between `isdigit()` and `isdecimal()`?",
        "decimal characters and digits that need special handling, such as",
    ),
    (
        "string-methods",
        PARA,
        "How do I split a string so that any run of spaces and tabs counts as one separator?",
        "algorithm is applied: runs of consecutive whitespace are regarded",
    ),
    (
        "string-methods",
        IDENT,
        "Why does `'1,,2'.split(',')` give me an empty string in the middle?",
        "If *sep* is given, consecutive delimiters are not grouped together",
    ),
    (
        "string-methods",
        IDENT,
        "Does `splitlines()` break on characters other than `\\n`, like form feeds?",
        "particular, the boundaries are a superset of *universal newlines*.",
    ),
    (
        "string-methods",
        IDENT,
        "Why does `title()` capitalize the letter after an apostrophe?",
        "many contexts but it means that apostrophes in contractions and",
    ),
    (
        "string-methods",
        IDENT,
        "What is the difference between `str.format(**d)` and `str.format_map(d)`?",
        'Similar to "str.format(**mapping)", except that "mapping" is used',
    ),
    (
        "string-methods",
        PARA,
        "When counting a substring, are overlapping matches counted?",
        "Return the number of non-overlapping occurrences of substring *sub*",
    ),
    (
        "string-methods",
        IDENT,
        "Should I use `find()` to check whether one string contains another?",
        'The "find()" method should be used only if you need to know',
    ),
    (
        "string-methods",
        PARA,
        "What happens when I join a list that contains numbers or bytes into a string?",
        'string values in *iterable*, including "bytes" objects.',
    ),
    (
        "string-methods",
        PARA,
        "How can I delete certain characters from a string with a translation table?",
        'return "None", to delete the character from the return string; or',
    ),
    (
        "string-methods",
        PARA,
        "Can I test whether a string ends with any one of several suffixes in a single call?",
        "*suffix* can also be a tuple of suffixes",
    ),
    (
        "string-methods",
        PARA,
        "How do I replace only the first occurrence of a substring?",
        "If the optional argument *count* is given, only",
    ),
    (
        "string-methods",
        IDENT,
        "Is `s.swapcase().swapcase()` always equal to `s`?",
        "lowercase and vice versa. Note that it is not necessarily true that",
    ),
    (
        "string-methods",
        IDENT,
        "Does `isascii()` return True for an empty string?",
        'Return "True" if the string is empty or all characters in the',
    ),
    # --- strings
    (
        "strings",
        PARA,
        "Can a raw string literal end with a single backslash?",
        "cannot end in a single backslash* (since the backslash would escape",
    ),
    (
        "strings",
        PARA,
        "What happens to an unknown escape sequence such as a backslash before d in a normal "
        "string?",
        "string unchanged, i.e., *the backslash is left in the result*.",
    ),
    (
        "strings",
        PARA,
        "Can I combine the f prefix with b to get formatted bytes?",
        "combined with \"'r'\", but not with \"'b'\" or \"'u'\", therefore raw",
    ),
    (
        "strings",
        PARA,
        "Can a bytes literal contain non-ASCII characters typed directly?",
        "only contain ASCII characters; bytes with a numeric value of 128 or",
    ),
    (
        "strings",
        IDENT,
        "How many hex digits does a `\\x` escape take in a string literal?",
        "Unlike in Standard C, exactly two hex digits are required.",
    ),
    (
        "strings",
        PARA,
        "What happens in Python 3.11 with octal escapes above 0o377?",
        "Changed in version 3.11: Octal escapes with value larger than",
    ),
    # --- subscriptions
    (
        "subscriptions",
        PARA,
        "If I subclass a built-in sequence and override item access, do negative indices "
        "still work automatically?",
        '"__getitem__()" method, subclasses overriding this method will need to',
    ),
    # --- truth
    (
        "truth",
        IDENT,
        "Which method decides my object's truth value when it has no `__bool__`?",
        'either a "__bool__()" method that returns "False" or a "__len__()"',
    ),
    (
        "truth",
        PARA,
        "Are zero values of every numeric type, even fractions and decimals, treated as false?",
        'zero of any numeric type: "0", "0.0", "0j", "Decimal(0)",',
    ),
    # --- types
    (
        "types",
        PARA,
        "Does Python have single-precision floating point numbers?",
        "Python does not support single-precision floating point numbers; the",
    ),
    (
        "types",
        IDENT,
        "What happens when `NotImplemented` is used in a boolean context?",
        "context is deprecated. While it currently evaluates as true, it will",
    ),
    (
        "types",
        PARA,
        "How are negative integers represented for bit shifting and masking?",
        "numbers are represented in a variant of 2’s complement which gives",
    ),
    (
        "types",
        PARA,
        "How do I read or change the value held in a closure cell?",
        'A cell object has the attribute "cell_contents". This can be used to',
    ),
    (
        "types",
        PARA,
        "Why can storing a bound method in a local variable speed up a loop?",
        "object happens each time the attribute is retrieved from the instance.",
    ),
    (
        "types",
        PARA,
        "Does a function stored as an attribute of an instance become a bound method?",
        "functions which are attributes of a class instance are not converted",
    ),
    (
        "types",
        IDENT,
        "What does `frame.clear()` do?",
        "This method clears all references to local variables held by the",
    ),
    (
        "types",
        IDENT,
        "What does `slice.indices()` compute?",
        "This method takes a single integer argument *length* and computes",
    ),
    (
        "types",
        PARA,
        "Why did a module's dictionary get emptied while I still held a reference to it?",
        "module dictionaries, the module dictionary will be cleared when the",
    ),
    (
        "types",
        PARA,
        "Can setting an attribute on an instance ever change its class's dictionary?",
        "Attribute assignments and deletions update the instance’s dictionary,",
    ),
    (
        "types",
        IDENT,
        "What does `co_positions()` on a code object give me?",
        "Returns an iterable over the source code positions of each bytecode",
    ),
    (
        "types",
        PARA,
        "How can a debugger implement a jump to another line?",
        "A debugger can implement a Jump command (aka Set",
    ),
    (
        "types",
        PARA,
        "How does attribute lookup handle diamond-shaped multiple inheritance?",
        "This search of the base classes uses the C3 method resolution order",
    ),
    (
        "types",
        PARA,
        "Are True and False really integers underneath?",
        "The Boolean type is a subtype of the integer type, and",
    ),
    (
        "types",
        IDENT,
        "Can a `frozenset` be put inside another set or used as a dict key?",
        "*hashable*, it can be used again as an element of another set,",
    ),
    # --- typesfunctions
    (
        "typesfunctions",
        PARA,
        "Apart from calling it, what can you do with a function object?",
        'operation on a function object is to call it: "func(argument-list)".',
    ),
    # --- typesmapping
    (
        "typesmapping",
        IDENT,
        "How does `__missing__` work on a dict subclass?",
        'If a subclass of dict defines a method "__missing__()" and *key*',
    ),
    (
        "typesmapping",
        IDENT,
        "Why do all the keys I create with `dict.fromkeys(keys, [])` share one list?",
        "single instance, so it generally doesn’t make sense for *value*",
    ),
    (
        "typesmapping",
        PARA,
        "When I remove and return items from a dict one pair at a time, which pair comes out "
        "first?",
        "Pairs are returned in LIFO (last-in, first-out) order.",
    ),
    (
        "typesmapping",
        IDENT,
        "Why is `d.values() == d.values()` False?",
        'An equality comparison between one "dict.values()" view and',
    ),
    (
        "typesmapping",
        PARA,
        "How do I merge two dictionaries into a new one with an operator?",
        "Create a new dictionary with the merged keys and values of *d*",
    ),
    (
        "typesmapping",
        PARA,
        "Is it safe to add or remove dictionary entries while looping over its keys view?",
        "Iterating views while adding or deleting entries in the dictionary",
    ),
    (
        "typesmapping",
        PARA,
        "Which dictionary views support set operations like intersection?",
        "Keys views are set-like since their entries are unique and *hashable*.",
    ),
    (
        "typesmapping",
        PARA,
        "How can I hand out a read-only view of a dictionary?",
        '"types.MappingProxyType" can be used to create a read-only view of a',
    ),
    # --- typesmethods
    (
        "typesmethods",
        PARA,
        "Why do I get an AttributeError when I set an attribute on a bound method?",
        'the underlying function object ("meth.__func__"), setting method',
    ),
    (
        "typesmethods",
        IDENT,
        "Is calling a bound method `m(x)` the same as `m.__func__(m.__self__, x)`?",
        'calling "m.__func__(m.__self__, arg-1, arg-2, ..., arg-n)".',
    ),
    # --- typesmodules
    (
        "typesmodules",
        IDENT,
        "Can I replace a module's `__dict__` with a new dictionary?",
        'write "m.__dict__ = {}"). Modifying "__dict__" directly is not',
    ),
    # --- typesseq
    (
        "typesseq",
        IDENT,
        "Why does `[[]] * 3` give me three references to the same inner list?",
        'What has happened is that "[[]]" is a one-element list containing',
    ),
    (
        "typesseq",
        PARA,
        "Why is building a long string by repeated concatenation slow, and what should I do "
        "instead?",
        "will have a quadratic runtime cost in the total sequence length.",
    ),
    (
        "typesseq",
        PARA,
        "Does sorting a list in place keep equal elements in their original order?",
        'The "sort()" method is guaranteed to be stable.',
    ),
    (
        "typesseq",
        PARA,
        "What happens if I look at or change a list while it is being sorted?",
        'empty for the duration, and raises "ValueError" if it can detect',
    ),
    (
        "typesseq",
        PARA,
        "What actually makes a tuple, the parentheses or the comma?",
        "it is actually the comma which makes a tuple, not the",
    ),
    (
        "typesseq",
        PARA,
        "Does a huge range object use a lot of memory?",
        'that a "range" object will always take the same (small) amount of',
    ),
    (
        "typesseq",
        IDENT,
        "Why can `len()` of a huge `range` raise OverflowError?",
        'Ranges containing absolute values larger than "sys.maxsize" are',
    ),
    (
        "typesseq",
        PARA,
        "Can two ranges with different start, stop and step compare equal?",
        'that compare equal might have different "start", "stop" and "step"',
    ),
    (
        "typesseq",
        IDENT,
        "Is the result of `s.index(x, i, j)` relative to the slice or to the whole sequence?",
        "returned index being relative to the start of the sequence rather",
    ),
    (
        "typesseq",
        PARA,
        "Can I hash a tuple that has a list inside it?",
        "Attempting to hash an immutable sequence that contains unhashable",
    ),
    # --- unary
    (
        "unary",
        IDENT,
        "How is the bitwise inversion `~x` of an integer defined?",
        'integer argument. The bitwise inversion of "x" is defined as',
    ),
    # --- yield
    (
        "yield",
        IDENT,
        "Does merely having `yield` somewhere in a function body make it a generator?",
        "Using yield in a function definition is sufficient to cause",
    ),
)


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _title(name: str, text: str) -> str:
    """The topic's first heading line (its first non-blank line), else its name."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return name


def build() -> LabelledSet:
    """All 79 topics of this Python's `pydoc_data` as items, and the labelled questions."""
    from pydoc_data.topics import topics

    items = [
        Item(id=name, text=text, title=_title(name, text)) for name, text in sorted(topics.items())
    ]
    questions = [
        Question(text=text, kind=kind, evidence=(Evidence(item=topic, quote=quote),))
        for topic, kind, text, quote in QUESTIONS
    ]
    return LabelledSet(
        name="documents",
        store="documents",
        items=items,
        questions=questions,
        about=(
            f"the {len(items)} language reference topics of Python "
            f"{sys.version_info.major}.{sys.version_info.minor}'s pydoc_data, with "
            f"{len(questions)} hand-written questions labelled by topic and a quote"
        ),
    )


def _occurrences(haystack: str, needle: str) -> int:
    """How many times needle occurs in haystack, overlapping ones counted."""
    count, start = 0, haystack.find(needle)
    while start != -1:
        count += 1
        start = haystack.find(needle, start + 1)
    return count


def check(labelled: LabelledSet) -> list[str]:
    """The problems of the set, one line each; an empty list when there are none.

    Every evidence names an item and quotes 4 to 12 words that occur verbatim (after runs of
    white space are collapsed to one space) on one line of that item's text, and exactly once
    in the whole corpus, case ignored; each question has exactly one evidence; and the set has
    enough questions, topics and kinds.
    """
    problems: list[str] = []
    texts = {item.id: item.text for item in labelled.items}
    if len(texts) != len(labelled.items):
        problems.append("item ids are not unique")
    collapsed = {name: _collapse(text) for name, text in texts.items()}
    folded = {name: text.casefold() for name, text in collapsed.items()}
    lines = {name: [_collapse(line) for line in text.splitlines()] for name, text in texts.items()}
    seen: set[str] = set()
    for n, question in enumerate(labelled.questions):
        where = f"question {n} ({question.text[:60]!r})"
        if question.text in seen:
            problems.append(f"{where}: asked twice")
        seen.add(question.text)
        if question.kind not in KINDS:
            problems.append(f"{where}: unknown kind {question.kind!r}")
        if len(question.evidence) != 1:
            problems.append(f"{where}: {len(question.evidence)} evidence, not exactly one")
        for evidence in question.evidence:
            quote = _collapse(evidence.quote)
            if evidence.item not in texts:
                problems.append(f"{where}: no item {evidence.item!r}")
                continue
            words = len(quote.split())
            if not QUOTE_WORDS[0] <= words <= QUOTE_WORDS[1]:
                problems.append(f"{where}: quote has {words} words: {quote!r}")
            if quote not in collapsed[evidence.item]:
                problems.append(f"{where}: quote not in {evidence.item!r}: {quote!r}")
                continue
            if not any(quote in line for line in lines[evidence.item]):
                problems.append(f"{where}: quote spans lines of {evidence.item!r}: {quote!r}")
            needle = quote.casefold()
            hits = {name: _occurrences(text, needle) for name, text in folded.items()}
            total = sum(hits.values())
            if total != 1:
                at = ", ".join(f"{name} x{k}" for name, k in sorted(hits.items()) if k)
                problems.append(f"{where}: quote occurs {total} times ({at}): {quote!r}")
    total_questions = len(labelled.questions)
    if total_questions < MIN_QUESTIONS:
        problems.append(f"{total_questions} questions, fewer than {MIN_QUESTIONS}")
    topics = {e.item for q in labelled.questions for e in q.evidence}
    if len(topics) < MIN_TOPICS:
        problems.append(f"questions about {len(topics)} topics, fewer than {MIN_TOPICS}")
    kinds = Counter(q.kind for q in labelled.questions)
    for kind, share in MIN_SHARE.items():
        if total_questions and kinds[kind] / total_questions < share:
            problems.append(f"{kinds[kind]} {kind} questions, under {share:.0%}")
    return problems


def main() -> int:
    labelled = build()
    kinds = Counter(q.kind for q in labelled.questions)
    per_topic = Counter(e.item for q in labelled.questions for e in q.evidence)
    chars = sum(len(item.text) for item in labelled.items)
    print(f"{labelled.name}: {labelled.about}")
    print(f"  items: {len(labelled.items)} topics, {chars:,} characters")
    print(f"  questions: {len(labelled.questions)}")
    for kind in KINDS:
        share = kinds[kind] / max(1, len(labelled.questions))
        print(f"    {kind}: {kinds[kind]} ({share:.0%})")
    print(f"  topics with questions: {len(per_topic)} of {len(labelled.items)}")
    print("    " + ", ".join(f"{name} {k}" for name, k in per_topic.most_common()))
    problems = check(labelled)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
