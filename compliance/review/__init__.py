"""The lead's review of the machine: accounts, overrides, disputes, the audit trail and calibration.

``decisions`` applies the lead's decisions to a scored call (the one function every reader uses); ``ledger``
records overrides, disputes and the audit trail; ``users`` the accounts; ``agreement`` how often the lead and the
machine agree; ``examples`` the team examples file fed by overridden lines.
"""
