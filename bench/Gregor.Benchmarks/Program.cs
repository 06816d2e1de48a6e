// dotnet run -c Release --project bench/Gregor.Benchmarks -- --filter '*RecordBatch*'
// Micro-benchmarks of the hot paths; load tests against a running broker are the scripts beside
// this project (rdkafka-perf.sh).
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
