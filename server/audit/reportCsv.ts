import type { AuditReport } from './auditReport.ts'

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled.
 * A text starting with `=`, `+`, `-`, `@` (or a tab or carriage return) is prefixed with `'`
 * first: spreadsheets run such a cell as a formula, and user ids and document names are chosen by
 * others (an id `=HYPERLINK(…)` must arrive as text). Numbers are written as they are.
 */
export const csvField = (value: string | number | null): string => {
  if (value === null) return ''
  if (typeof value === 'number') return String(value)
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

const line = (fields: ReadonlyArray<string | number | null>): string => `${fields.map(csvField).join(',')}\r\n`

export const REPORT_CSV_HEADER = [
  'user',
  'document',
  'admitted',
  'refused',
  'refused_codes',
  'changes_accepted',
  'changes_rejected',
  'writes_read_only',
  'changes_held',
  'changes_compensated',
  'admin_changes',
  'reviews_approved',
  'reviews_rejected',
] as const

/** The report's rows as CSV (CRLF line ends, a header line); refusal codes as `CODE=n;CODE=n`. */
export const reportCsv = (report: AuditReport): string =>
  line(REPORT_CSV_HEADER) +
  report.rows
    .map((row) =>
      line([
        row.user,
        row.document,
        row.admitted,
        row.refused,
        Object.entries(row.refusedCodes)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([code, count]) => `${code}=${count}`)
          .join(';') || null,
        row.accepted,
        row.rejected,
        row.readOnly,
        row.held,
        row.compensated,
        row.adminChanges,
        row.approved,
        row.rejectedReviews,
      ]),
    )
    .join('')
