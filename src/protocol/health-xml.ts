// Health report body for `POST /machine?comp=health` (wire-protocol.md §10.2): no whitespace between elements.

export interface HealthReportInput {
  readonly incarnation: string;
  readonly containerId: string;
  readonly roleInstanceId: string;
  readonly state: 'Ready' | 'NotReady';
  readonly substatus?: string;
  readonly description?: string;
}

/** The 4096-byte limit of the WireServer with a ~10% margin, applied before escaping (as upstream). */
export const MAX_DESCRIPTION_CHARS = 3686;

/** saxutils.escape: only &, < and >. */
function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function buildHealthReport(r: HealthReportInput): string {
  // Cut by code points, as Python slices str, so a surrogate pair is never split.
  const description = Array.from(r.description ?? '').slice(0, MAX_DESCRIPTION_CHARS).join('');
  const details =
    r.substatus === undefined
      ? ''
      : `<Details><SubStatus>${escapeXml(r.substatus)}</SubStatus><Description>${escapeXml(description)}</Description></Details>`;
  // Upstream does not escape the identifiers; they never contain markup, and escaping keeps the body well-formed.
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
    `<GoalStateIncarnation>${escapeXml(r.incarnation)}</GoalStateIncarnation>` +
    '<Container>' +
    `<ContainerId>${escapeXml(r.containerId)}</ContainerId>` +
    '<RoleInstanceList><Role>' +
    `<InstanceId>${escapeXml(r.roleInstanceId)}</InstanceId>` +
    `<Health><State>${r.state}</State>${details}</Health>` +
    '</Role></RoleInstanceList>' +
    '</Container>' +
    '</Health>'
  );
}
