using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using GppfActors.Actors.Checkpointing;
using GppfActors.Model.Checkpoints;
using GppfActors.Testing;
using Xunit;

namespace GppfActors.Host.Tests;

/// <summary>`gppf inspect`, `gppf export`, `gppf eval` and `gppf analyze` on a real run's checkpoint (one run, shared).</summary>
public sealed class InspectExportSpecs(SyntheticDataFixture fixture) : IClassFixture<SyntheticDataFixture>
{
    [Fact]
    public void Should_show_each_task_path_and_export_it_as_a_static_backbone_with_torchvision_keys()
    {
        string run = fixture.Reference(6, 6);

        var inspect = GppfProcess.Run(fixture.Root, ["inspect", run]);
        Assert.True(inspect.ExitCode == 0, inspect.Output);
        Assert.Contains("step 6", inspect.Output);
        Assert.Contains("shapes_det", inspect.Output);

        string file = Path.Combine(fixture.Root, "cls.safetensors");
        var export = GppfProcess.Run(fixture.Root, ["export", run, "--task", "shapes_cls", "--out", file]);
        Assert.True(export.ExitCode == 0, export.Output);

        var header = SafeTensorsFile.ReadHeader(file);
        Assert.Equal("shapes_cls", header.Metadata["task"]);
        var path = header.Metadata["path"].Split(',').Select(int.Parse).ToArray();
        Assert.Equal(5, path.Length);                       // the small backbone: stem + 4 blocks
        Assert.Contains("conv1.weight", header.Names);
        Assert.Contains("layer4.0.bn2.running_var", header.Names);
        Assert.DoesNotContain(header.Names, n => n.Contains("units", StringComparison.Ordinal));

        // The exported stem is the chosen stem unit of the checkpoint.
        var exported = SafeTensorsFile.Load(file);
        var model = SafeTensorsFile.Load(Path.Combine(run, CheckpointLayout.DirectoryName(6), CheckpointLayout.ModelFile));
        TensorAssert.Equal(exported["conv1.weight"], model[$"backbone.stem.units.{path[0]}.conv1.weight"], "conv1.weight");
        TensorAssert.Equal(exported["layer2.0.conv2.weight"], model[$"backbone.layer2.0.units.{path[2]}.conv2.weight"], "layer2.0.conv2.weight");

        var missing = GppfProcess.Run(fixture.Root, ["inspect", Path.Combine(fixture.Root, "nowhere")]);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nowhere", missing.Output);
    }

    [Fact]
    public void Should_write_the_lego_selection_curves_and_cka_of_a_run_as_csv_and_png()
    {
        string run = fixture.Reference(6, 6);
        string output = Path.Combine(fixture.Root, "analysis");
        var analyze = GppfProcess.Run(fixture.Root, ["analyze", run, "--out", output, "--compare", Path.Combine(run, CheckpointLayout.DirectoryName(6)),
            "--probe-batches", "2", "--probe-batch-size", "8"]);
        Assert.True(analyze.ExitCode == 0, analyze.Output);
        string[] tasks = ["shapes_cls", "shapes_det", "shapes_seg"];
        const int layers = 5;                                // the small backbone: stem + 4 blocks

        // Lego selection: one row per task and layer, the softmax of the checkpoint's controller logits.
        var model = SafeTensorsFile.Load(Path.Combine(run, CheckpointLayout.DirectoryName(6), CheckpointLayout.ModelFile));
        var selection = Csv(Path.Combine(output, "lego-selection.csv"));
        Assert.Equal("task,layer,chosen_unit,chosen_probability,unit0,unit1", selection.Header);
        Assert.Equal(tasks.Length * layers, selection.Rows.Count);
        foreach (var row in selection.Rows)
        {
            var p = row[4..].Select(Number).ToArray();
            Assert.All(p, v => Assert.InRange(v, 0, 1));
            Assert.Equal(1.0, p.Sum(), 1e-5);
            var logits = model[$"controllers.{row[0]}.logits"].data<float>().ToArray();    // [L, N], row-major
            int l = int.Parse(row[1], CultureInfo.InvariantCulture);
            double expected0 = 1 / (1 + Math.Exp(logits[2 * l + 1] - logits[2 * l]));
            Assert.Equal(expected0, p[0], 1e-5);
            Assert.Equal(p[0] >= p[1] ? "0" : "1", row[2]);
        }

        // Selection learning curves: every step of the run, each task and layer once per step.
        var curves = Csv(Path.Combine(output, "selection-curves.csv"));
        Assert.Equal(Enumerable.Range(0, 6).Select(s => s.ToString(CultureInfo.InvariantCulture)), curves.Rows.Select(r => r[0]).Distinct());
        Assert.Equal(curves.Rows.Count, curves.Rows.Select(r => (r[0], r[1], r[2])).Distinct().Count());
        Assert.All(curves.Rows, r => Assert.Equal(1.0, Number(r[3]) + Number(r[4]), 5));

        // CKA: the run beside itself, so every block of the (2L x 2L) matrix is the same, with 1 on its diagonals.
        foreach (var task in tasks)
        {
            var cka = Csv(Path.Combine(output, $"cka-{task}.csv"));
            Assert.Equal((2 * layers) * (2 * layers), cka.Rows.Count);
            var values = cka.Rows.ToDictionary(r => (r[0], int.Parse(r[1], CultureInfo.InvariantCulture), r[2], int.Parse(r[3], CultureInfo.InvariantCulture)), r => Number(r[4]));
            for (int i = 0; i < layers; i++)
            {
                Assert.Equal(1.0, values[("model", i, "model", i)], 5);
                Assert.Equal(1.0, values[("model", i, "compare", i)], 5);
                for (int j = 0; j < layers; j++)
                {
                    Assert.InRange(values[("model", i, "model", j)], -0.2, 1.00001);
                    Assert.Equal(values[("model", i, "model", j)], values[("compare", j, "model", i)], 5);
                }
            }
        }

        string[] figures = ["lego-selection.png", .. tasks.Select(t => $"selection-curves-{t}.png"), .. tasks.Select(t => $"cka-{t}.png")];
        foreach (var figure in figures)
        {
            var bytes = File.ReadAllBytes(Path.Combine(output, figure));
            Assert.True(bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), $"{figure} is not a PNG");
            int width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
            Assert.True(width is >= 400 and <= 4000 && height is >= 150 and <= 3000, $"{figure}: {width} x {height} pixels");
            Assert.True(bytes.Length > 5_000, $"{figure}: only {bytes.Length} bytes");
        }
    }

    [Fact]
    public void Should_evaluate_a_task_on_its_whole_split_along_its_arg_max_path_whatever_the_batch_size()
    {
        string run = fixture.Reference(6, 6);
        string json = Path.Combine(fixture.Root, "eval.json");
        var eval = GppfProcess.Run(fixture.Root, ["eval", run, "--task", "shapes_cls", "--batch-size", "7", "--json", json]);
        Assert.True(eval.ExitCode == 0, eval.Output);
        Assert.Contains("whole val split", eval.Output);

        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var root = report.RootElement;
        Assert.Equal(6, root.GetProperty("step").GetInt64());
        Assert.Equal("val", root.GetProperty("split").GetString());
        var tasks = root.GetProperty("tasks").EnumerateObject().ToList();
        Assert.Equal("shapes_cls", Assert.Single(tasks).Name);
        var cls = tasks[0].Value;
        // Every image of the split (the in-training evaluation of this run stops after one batch of 16).
        int images = Directory.GetFiles(Path.Combine(fixture.Data, "classification", "val"), "*", SearchOption.AllDirectories).Length;
        Assert.Equal(images, cls.GetProperty("num_samples").GetInt32());
        Assert.True(images > 7 && images % 7 != 0, $"{images} images: the last batch should be a partial one");

        var model = SafeTensorsFile.Load(Path.Combine(run, CheckpointLayout.DirectoryName(6), CheckpointLayout.ModelFile));
        var logits = model["controllers.shapes_cls.logits"].data<float>().ToArray();                  // [L, 2]
        string expectedPath = string.Concat(Enumerable.Range(0, logits.Length / 2).Select(l => logits[2 * l + 1] > logits[2 * l] ? '1' : '0'));
        Assert.Equal(expectedPath, cls.GetProperty("path").GetString());
        double top1 = cls.GetProperty("metrics").GetProperty("top1").GetDouble();
        Assert.InRange(top1, 0, 1);
        Assert.True(Math.Abs(top1 * images - Math.Round(top1 * images)) < 1e-6, $"top1 {top1} is not a whole number of {images} images");

        // The task's own batch size along the same path, given by hand, covers the same samples: the same metrics.
        var again = GppfProcess.Run(fixture.Root, ["eval", run, "--task", "shapes_cls", "--path", string.Join(",", expectedPath.ToCharArray())]);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains($"top1 {top1.ToString("0.####", CultureInfo.InvariantCulture)}", again.Output);
    }

    private static (string Header, List<string[]> Rows) Csv(string file)
    {
        var lines = File.ReadAllLines(file);
        return (lines[0], lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToList());
    }

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}
