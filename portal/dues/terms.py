"""The version of LINK-J's objectives and membership terms an applicant agrees to.

Raise ``TERMS_VERSION`` whenever ``templates/dues/_terms.html`` changes in substance: each
application records the version its applicant agreed to.
"""

TERMS_VERSION = 1
