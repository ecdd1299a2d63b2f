"""Excel roster import and export (ARCHITECTURE §4 Excel enrollment): validate, parse, enroll, template, export."""
