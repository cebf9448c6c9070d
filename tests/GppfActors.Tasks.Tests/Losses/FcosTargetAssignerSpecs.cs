using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Heads;
using GppfActors.Tasks.Losses;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Losses;

/// <summary>FCOS assignment on an 8 x 8 image with two levels and three boxes, every location worked out by hand.</summary>
public class FcosTargetAssignerSpecs
{
    // Level 0: 4 x 4 cells, stride 2, sizes [0, 4]: locations (2j+1, 2i+1).
    // Level 1: 2 x 2 cells, stride 4, sizes [4, inf): locations (4j+2, 4i+2).
    private static readonly FcosLayout Layout = new(
        [new FcosLevel(4, 4, 2, 0, 4), new FcosLevel(2, 2, 4, 4, double.PositiveInfinity)], new InputSize(8, 8));

    [Fact]
    public void Should_assign_by_inside_size_range_and_smallest_area_when_boxes_overlap()
    {
        // A (0,0)-(4,4) class 2, area 16; B (0,0)-(8,8) class 0, area 64; C (0,0)-(7,4) class 1, area 28.
        // Level 0: (1,1), (3,1), (1,3), (3,3) lie in A with largest distance 3 <= 4 -> A. Every other
        //   level-0 location is outside A, and B or C would need a largest distance >= 5 > 4 there.
        // Level 1: (2,2): A reaches only 2 < 4; B reaches 6, C reaches 5 -> C (smaller area).
        //          (6,2): C (l 6, t 2, r 1, b 2) and B -> C.   (2,6), (6,6): outside C (b < 0) -> B.
        using var scope = NewDisposeScope();
        var boxes = tensor(new float[] { 0, 0, 4, 4, 0, 0, 8, 8, 0, 0, 7, 4 }, [3, 4]);
        var labels = tensor(new long[] { 2, 0, 1 });

        var targets = FcosTargetAssigner.Assign(Layout, [boxes], [labels], CPU);

        long bg = FcosTargets.Background;
        long[] expected = [2, 2, bg, bg, 2, 2, bg, bg, bg, bg, bg, bg, bg, bg, bg, bg, 1, 1, 0, 0];
        Assert.Equal(expected, targets.Labels[0].data<long>().ToArray());
        // Location (1,1) in A: l 1, t 1, r 3, b 3; centerness sqrt(1/3 * 1/3) = 1/3.
        Assert.Equal([1f, 1f, 3f, 3f], targets.Distances[0, 0].data<float>().ToArray());
        Assert.Equal(1.0 / 3, targets.Centerness[0, 0].item<float>(), 5);
        // Location (2,2) in C: l 2, t 2, r 5, b 2; centerness sqrt(2/5 * 2/2) = 0.63246.
        Assert.Equal([2f, 2f, 5f, 2f], targets.Distances[0, 16].data<float>().ToArray());
        Assert.Equal(Math.Sqrt(0.4), targets.Centerness[0, 16].item<float>(), 5);
        // Location (6,2) in C: l 6, t 2, r 1, b 2; centerness sqrt(1/6 * 2/2) = 0.40825 (left and right differ).
        Assert.Equal([6f, 2f, 1f, 2f], targets.Distances[0, 17].data<float>().ToArray());
        Assert.Equal(Math.Sqrt(1.0 / 6), targets.Centerness[0, 17].item<float>(), 5);
        // Location (2,6) in B: l 2, t 6, r 6, b 2; centerness sqrt(2/6 * 2/6) = 1/3.
        Assert.Equal([2f, 6f, 6f, 2f], targets.Distances[0, 18].data<float>().ToArray());
        Assert.Equal(1.0 / 3, targets.Centerness[0, 18].item<float>(), 5);
        // Background (5,5) lies outside every box it could be measured against (A: l 5, t 5, r -1, b -1): both
        // ratios are negative, so their product 1/25 would give 0.2 unless background is zeroed explicitly.
        Assert.Equal(bg, targets.Labels[0, 10].item<long>());
        Assert.Equal(0f, targets.Centerness[0, 10].item<float>());
    }

    [Fact]
    public void Should_mark_every_location_background_when_an_image_has_no_box()
    {
        using var scope = NewDisposeScope();

        var targets = FcosTargetAssigner.Assign(Layout, [zeros([0, 4])], [zeros([0], int64)], CPU);

        Assert.Equal([1L, 20L], targets.Labels.shape);
        Assert.True(targets.Labels.eq(FcosTargets.Background).all().item<bool>());
    }

    [Fact]
    public void Should_place_locations_at_cell_centres_when_building_the_layout_from_a_backbone()
    {
        // The tiny backbone's stages have strides 1 and 2; a 5 x 3 input gives maps 5 x 3 and 3 x 2.
        var layout = FcosLayout.For(GppfActors.Model.Backbone.BackboneConfig.Tiny(1), new DetectionOptions(SizeRangeScale: 8), new InputSize(5, 3));
        using var scope = NewDisposeScope();

        var (points, ranges) = layout.Locations(CPU);

        Assert.Equal(15 + 6, layout.NumLocations);
        Assert.Equal([0f, 0f], points[0].data<float>().ToArray());                 // stride 1: offset 1 / 2 = 0
        Assert.Equal([1f, 1f], points[15].data<float>().ToArray());                // stride 2: offset 1
        Assert.Equal([0f, 8f], ranges[0].data<float>().ToArray());                 // [0, 8 x 1]
        Assert.Equal(8f, ranges[15, 0].item<float>());                              // [8 x 1, inf)
        Assert.True(float.IsPositiveInfinity(ranges[15, 1].item<float>()));
    }
}
