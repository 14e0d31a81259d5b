"""File formats: the exchange format's columns, reading and writing spreadsheets safely, exports,
the compliance workbook, and the API's JSON records."""
