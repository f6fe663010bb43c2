"""Writes of returns, split by sub-process:

policy     the return policy, one new version per change
requests   return requests: eligibility, approve, decline, receive, inspect, close
refunds    refunds (and the second approval), store credit, exchanges

Import from the modules.
"""
