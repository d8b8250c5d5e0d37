/** Semantic diff of two model specs: match layers, compare, fold, report. */
export { diffGraphs, type GraphDiff, type NodeChange, type AttrChange, type Change, type SideSummary, type DiffInput } from './diff.js';
export { matchNodes, genericId, canonicalJson, type NodeMatching, type MatchHow } from './match.js';
export { foldChanges, idPattern, loopVariable, type DiffEntry, type RepeatEntry, type NodesEntry, type ChangedEntry, type RenamedEntry } from './fold.js';
export { formatDiffText, formatDiffMarkdown, diffJson, type ReportOptions } from './report.js';
export { changedRegion, type Region } from './region.js';
export { loadSide, parseSide, sideLabel, GitHost, type LoadedSide, type SideSource } from './sides.js';
