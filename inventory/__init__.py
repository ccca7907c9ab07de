"""Goods, barcodes, stock levels and the append-only stock movements.

Imports only `core`: never `pos`, Flask or `ledger`. Every operation takes a SQLAlchemy `Session` and never
commits; the use case in `pos` owns the transaction (a sale's stock, points and receipt commit together).

Modules:
- `barcodes`: normalise, validate (EAN-13, EAN-8, UPC-A), internal codes, shelf labels.
- `models`: Product, ProductPrice, StockLevel, StockMovement, StockSettings.
- `products`: create/update, price changes (history), lookup by barcode.
- `stock`: receive, adjust, stocktake, donation in, transfer, sell, return, levels, value, check.
- `catalog`: CSV import (all-or-nothing or partial) and export.
- `errors`: InvalidBarcode, UnknownProduct, ProductExists, OutOfStock, AlreadyReturned (codes from API.md).
"""
