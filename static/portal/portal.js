// Portal behaviour (no inline scripts: CSP).
