"""Complaints (klagomål, synpunkter, beröm): per customer, process, month, tertial; acknowledgement, backlog."""
