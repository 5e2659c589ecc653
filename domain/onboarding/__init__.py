"""Onboarding: facts about a project from a scan, stored in its state, turned into setup files and specs."""
