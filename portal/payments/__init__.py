"""Payments: card payments through Stripe, invoices paid by bank transfer, refunds."""
