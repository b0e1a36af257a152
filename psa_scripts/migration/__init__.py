"""``psa migrate``: Groovy-bucket services onto the Python lifecycle scripts.

``counterparts`` (the Groovy objects and ours), ``edits`` (text edits at the model's positions),
``rules`` (one workflow), ``files`` (paths in, files or a diff out, the report).
"""
