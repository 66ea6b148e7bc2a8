"""Only the compiled part of the matcher; everything else is in pyproject.toml.

``optional=True``: where no C compiler is available the install goes on and
the matcher uses the pure-Python reference in ``bot/engine/wordscan.py`` (slower,
same results).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bot.engine._wordscan",
            sources=["bot/engine/_wordscan.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
