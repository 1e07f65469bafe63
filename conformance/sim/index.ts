/**
 * The seeded simulator (TigerBeetle's VOPR, for the reference implementation): one seed drives a
 * virtual clock, a faulty network, disks with fsync semantics and a client workload around a
 * cluster of RaftNode + KvStore hosts, and the run — trace included — replays exactly from it.
 *
 * Start with `simulate` (one run, safety phase then liveness phase) or `SimCluster` (step it
 * yourself: tick, crash, restart, partition, converge).
 */
export { SimCluster, SimViolation, eventCollector, type ClusterOptions, type ClusterStats, type TraceTarget } from './cluster.ts';
export { simulate, faultsForSeed, type SimulateOptions, type SimulateResult, type SimSummary } from './simulate.ts';
export { SimNetwork, DEFAULT_NETWORK_OPTIONS, validateNetworkOptions, type NetworkOptions, type NetworkStats, type DropReason } from './network.ts';
export { SimDisk, checkDurableState, type DiskBatch, type DiskStats } from './disk.ts';
export { ClientWorkload, DEFAULT_CLIENT_OPTIONS, type ClientOptions, type ClientStats } from './clients.ts';
export { NO_FAULTS, FAULT_NAMES, parseFaultSpec, formatFaultSpec, resolveFaults, type FaultOptions, type FaultSpec } from './faults.ts';
export { NdjsonTraceWriter, memoryTraceWriter, type TraceWriterOptions } from './trace-writer.ts';
export { STREAM, streamPrng, streamSeed } from './seeds.ts';
export { SimAssertionError } from './assert.ts';
