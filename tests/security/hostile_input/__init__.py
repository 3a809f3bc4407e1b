"""Hostile input through real HTTP requests, as signed-in members with the roles that may make each change.

The corpus is tests/support/hostile.py. Every free-text field people can save gets script, markup, a javascript:
URL and template syntax, and every page and export where the value shows is read back: the value is shown as
text, never run. Uploads (evidence and plan imports) get SVG with script, HTML in disguise, polyglots, oversized,
empty and truncated files and hostile names. Form posts get bytes that are not UTF-8, control characters, 1 MB
strings, emoji and mixed traditional / simplified text, full-width digits and impossible dates. Whatever is
refused is refused with a Chinese message, leaves what was saved before as it was, and nothing answers 5xx.
"""
