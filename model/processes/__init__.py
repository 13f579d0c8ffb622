"""The yearly processes, one module each, in schedule order (see ``model.schedule``).

Household-level processes take ``idx`` (a slice for all households or an index array for one
agent) and update only those rows; organisation- and county-level processes take the indices
of the organisations or counties they act for.
"""
