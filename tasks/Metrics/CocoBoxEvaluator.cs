namespace GppfActors.Tasks.Metrics;

/// <summary>
/// The project's own COCO-style box AP (the pycocotools bbox protocol, area range "all", no crowd
/// boxes): per image and category, detections sorted by score (the first maxDets) are matched
/// greedily to the unmatched ground truth of highest IoU at or above each threshold 0.50:0.05:0.95;
/// per category the matches of all images are ranked by score, precision is made monotone, and
/// 101-point interpolated precision is averaged; AP averages over thresholds and over categories
/// that have ground truth (categories without ground truth are left out, their detections cost nothing).
/// </summary>
public sealed class CocoBoxEvaluator
{
    /// <summary>IoU thresholds, computed as numpy.linspace(0.5, 0.95, 10) computes them, so boundary cases agree with pycocotools.</summary>
    public static readonly IReadOnlyList<double> IouThresholds = Linspace(0.5, 0.95, 10);

    /// <summary>Recall points, numpy.linspace(0, 1, 101).</summary>
    public static readonly IReadOnlyList<double> RecallThresholds = Linspace(0.0, 1.0, 101);

    // numpy.spacing(1): pycocotools adds it to precision denominators.
    private const double Spacing1 = 2.220446049250313e-16;

    private readonly int maxDetections;
    private readonly SortedDictionary<int, CategoryRecord> categories = [];
    private int numImages;

    /// <summary>An evaluator keeping at most <paramref name="maxDetections"/> detections per image and category (COCO: 100).</summary>
    public CocoBoxEvaluator(int maxDetections = 100)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDetections, 1);
        this.maxDetections = maxDetections;
    }

    /// <summary>Images added.</summary>
    public int NumImages => numImages;

    /// <summary>Adds one image's ground truth and detections.</summary>
    public void AddImage(IReadOnlyList<GroundTruthBox> groundTruth, IReadOnlyList<Detection> detections) =>
        AddImage(groundTruth.Select(g => g.Label).ToArray(), detections.Select(d => (d.Label, d.Score)).ToArray(),
            (d, g) => detections[d].Box.Iou(groundTruth[g].Box));

    /// <summary>
    /// Adds one image whose ground truth and detections are compared by <paramref name="iou"/>
    /// (detection index, ground-truth index, into the lists given): the same protocol over any
    /// overlap measure, box IoU here and mask IoU in <see cref="CocoMaskEvaluator"/>.
    /// </summary>
    internal void AddImage(IReadOnlyList<int> groundTruthLabels, IReadOnlyList<(int Label, double Score)> detections, Func<int, int, double> iou)
    {
        numImages++;
        foreach (int category in groundTruthLabels.Concat(detections.Select(d => d.Label)).Distinct())
        {
            int[] gts = Enumerable.Range(0, groundTruthLabels.Count).Where(g => groundTruthLabels[g] == category).ToArray();
            int[] dts = Enumerable.Range(0, detections.Count).Where(d => detections[d].Label == category)
                .OrderByDescending(d => detections[d].Score).Take(maxDetections).ToArray();  // stable
            if (!categories.TryGetValue(category, out var record))
            {
                record = new CategoryRecord();
                categories[category] = record;
            }
            record.NumGroundTruth += gts.Length;
            var ious = new double[dts.Length, gts.Length];
            for (int d = 0; d < dts.Length; d++)
            {
                for (int g = 0; g < gts.Length; g++)
                {
                    ious[d, g] = iou(dts[d], gts[g]);
                }
            }
            var matched = Match(ious);
            for (int d = 0; d < dts.Length; d++)
            {
                record.Detections.Add((detections[dts[d]].Score, matched[d]));
            }
        }
    }

    /// <summary>AP (mean over thresholds and categories), AP50, AP75 and AP per category (mean over thresholds).</summary>
    public CocoReport Report()
    {
        var perCategory = new SortedDictionary<int, double[]>();
        foreach (var (category, record) in categories)
        {
            if (record.NumGroundTruth == 0)
            {
                continue;
            }
            perCategory[category] = IouThresholds.Select((_, t) => AveragePrecision(record, t)).ToArray();
        }
        double Mean(Func<double[], double> pick) => perCategory.Count == 0 ? double.NaN : perCategory.Values.Average(pick);
        return new CocoReport(
            Mean(ap => ap.Average()),
            Mean(ap => ap[0]),
            Mean(ap => ap[5]),
            perCategory.ToDictionary(p => p.Key, p => p.Value.Average()));
    }

    // For each detection (in score order) and threshold: did it match a ground truth?
    private static bool[][] Match(double[,] ious)
    {
        int numDetections = ious.GetLength(0), numGroundTruth = ious.GetLength(1);
        var result = Enumerable.Range(0, numDetections).Select(_ => new bool[IouThresholds.Count]).ToArray();
        for (int t = 0; t < IouThresholds.Count; t++)
        {
            var taken = new bool[numGroundTruth];
            for (int d = 0; d < numDetections; d++)
            {
                // pycocotools: the best still-free ground truth with IoU >= min(t, 1 - 1e-10).
                double best = Math.Min(IouThresholds[t], 1 - 1e-10);
                int match = -1;
                for (int g = 0; g < numGroundTruth; g++)
                {
                    if (taken[g] || ious[d, g] < best)
                    {
                        continue;
                    }
                    best = ious[d, g];
                    match = g;
                }
                if (match >= 0)
                {
                    taken[match] = true;
                    result[d][t] = true;
                }
            }
        }
        return result;
    }

    private static double AveragePrecision(CategoryRecord record, int t)
    {
        // Stable sort: equal scores keep image order, then in-image order (pycocotools' mergesort).
        var ranked = record.Detections.Select((d, i) => (d.Score, d.Matched[t], i))
            .OrderByDescending(d => d.Score).ThenBy(d => d.i).ToArray();
        int n = ranked.Length;
        var recall = new double[n];
        var precision = new double[n];
        int tp = 0, fp = 0;
        for (int i = 0; i < n; i++)
        {
            if (ranked[i].Item2)
            {
                tp++;
            }
            else
            {
                fp++;
            }
            recall[i] = (double)tp / record.NumGroundTruth;
            precision[i] = tp / (tp + fp + Spacing1);
        }
        // Interpolation: precision at recall r is the best precision at any recall >= r.
        for (int i = n - 1; i > 0; i--)
        {
            precision[i - 1] = Math.Max(precision[i - 1], precision[i]);
        }
        double sum = 0;
        int next = 0;
        foreach (double r in RecallThresholds)
        {
            while (next < n && recall[next] < r)
            {
                next++;
            }
            sum += next < n ? precision[next] : 0;           // recall r never reached: precision 0
        }
        return sum / RecallThresholds.Count;
    }

    private static double[] Linspace(double start, double stop, int num)
    {
        double step = (stop - start) / (num - 1);
        var values = Enumerable.Range(0, num).Select(i => i * step + start).ToArray();
        values[^1] = stop;
        return values;
    }

    private sealed class CategoryRecord
    {
        public int NumGroundTruth { get; set; }

        public List<(double Score, bool[] Matched)> Detections { get; } = [];
    }
}
