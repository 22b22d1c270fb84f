"""A completed setup's pages: one short function-based view per page (docs/architecture.md).

``common`` holds the one completed-setup gate, the setup page's address and the provider's origin
in CSP form-action; one module per page: ``setup`` (the setup page, "Check now"), ``notifications``,
``reconnect``, ``repair``, ``rotate`` (a new client secret, new scopes). Each view reads its input,
asks one function of the domain module beside this package (``checks``, ``reconnect``, ``repair``,
``rotate``) and picks a template.
"""
