//! Merchant-configured extra fields (placeholder, being written).
