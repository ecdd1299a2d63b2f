"""Excel roster import and export (ARCHITECTURE §4 Excel enrollment).

validation.excel_validate_upload   size, format (xlsx, xls, ods, csv), zip bomb, cell extent, encryption (API side)
sheets.roster_sheets               which sheet a person means (active, visible first), CSV records as rows
parser.parse_roster                header by aliases, normalised values, SkippedRow per unusable row
importer.enrollment_import_rows    one transaction, set-based, idempotent; ImportResult.to_dict() is the job result
importer.enrollment_import_file    validate + parse + import one downloaded file (what the job handler calls)
template.build_enrollment_template the downloadable xlsx template (bytes)
export.enrollment_export_roster    a lecture's roster streamed to an xlsx file, formula-safe; (path, row count)

Every refusal is a DomainError (errors.py) with a stable code and a Korean message.
"""
