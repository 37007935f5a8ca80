"""``airstack diff``: what a change does to a stack, as Markdown for a pull request or as JSON.

``document`` reads plan documents (today's shape and older ones), ``values`` diffs property values,
``replacement`` knows which input changes force a new resource, ``compare`` diffs two documents and writes the
summary line, ``markdown`` renders it, ``secrets`` keeps secret values out and still tells when one changed,
``revision`` plans a stack as a git revision had it, and ``command`` puts them together for the CLI.
"""
