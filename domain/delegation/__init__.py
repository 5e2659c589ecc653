"""Delegation: handing a task to a coding-agent CLI and following it as a supervised job."""
