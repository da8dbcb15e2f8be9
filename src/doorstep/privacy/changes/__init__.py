"""Publishing a new policy version: notices of a major change and the subscribers' answers.

Above accounts and devices: it reaches every affected subscriber by their
channels and shows the notice until they respond (CPE-VII.1, CPE-VII.3,
CORP-8.2, decision 0019).  The versions themselves are ``privacy.policies``.
"""
