"""QC pages. Each view: authorise → validate the form → call one service → message → redirect.

Split by subject: ``specs``, ``registers`` (instruments, reagents), ``records`` (samples, test
records, files, report), ``oos``, ``ledger`` (台帐, CSV, monthly archive).
"""
