// capture-fuzzer: the fuzz harness's and the benchmarks' capture maker.
//
//   case   --seed N [--corpus DIR]... --out DIR        writes fuzz case N (case-N.pcap or .pcapng); prints its recipe
//   cases  --first N --count C [--corpus DIR]... --out DIR   writes C cases; prints "name<TAB>recipe" per case
//   seeds  --out DIR                                   writes the seed corpus (tests/Fuzz/corpus): every link type,
//                                                      both formats and byte orders, every timestamp pattern
//   flood  --kind K --count N --out FILE               writes a flood capture (addaddr, removeaddr, connections, ...)
//
// The harness also loads this assembly into pwsh and calls Fuzz.Case directly.
using CaptureFuzzer;

static class Program
{
    static int Main(string[] args)
    {
        try
        {
            var options = new Dictionary<string, List<string>>();
            for (int i = 1; i + 1 < args.Length; i += 2)
            {
                string key = args[i].TrimStart('-');
                if (!options.TryGetValue(key, out List<string>? list)) options[key] = list = new List<string>();
                list.Add(args[i + 1]);
            }

            string One(string key) => options.TryGetValue(key, out List<string>? v) ? v[^1] : throw new ArgumentException($"--{key} is missing");
            List<(string, byte[])> corpus = Corpus(options.GetValueOrDefault("corpus") ?? new List<string>());
            switch (args.Length > 0 ? args[0] : "")
            {
                case "case":
                case "cases":
                {
                    int first = int.Parse(args[0] == "case" ? One("seed") : One("first"));
                    int count = args[0] == "case" ? 1 : int.Parse(One("count"));
                    string dir = One("out");
                    Directory.CreateDirectory(dir);
                    for (int seed = first; seed < first + count; seed++)
                    {
                        FuzzCase c = Fuzz.Case(seed, corpus);
                        File.WriteAllBytes(Path.Combine(dir, c.Name + c.Extension), c.Bytes);
                        Console.WriteLine($"{c.Name}{c.Extension}\t{c.Recipe}");
                    }

                    return 0;
                }
                case "seeds":
                    Seeds.Write(One("out"));
                    return 0;
                case "flood":
                    Console.WriteLine(Floods.Write(One("kind"), long.Parse(One("count")), One("out")));
                    return 0;
                default:
                    Console.Error.WriteLine("usage: capture-fuzzer case|cases|seeds|flood ... (see Program.cs)");
                    return 2;
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            Console.Error.WriteLine($"capture-fuzzer: {e.Message}");
            return 2;
        }
    }

    static List<(string, byte[])> Corpus(IEnumerable<string> dirs) =>
        dirs.SelectMany(d => Directory.GetFiles(d).Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal)))
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))).ToList();
}
