using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using Xunit;

namespace GppfActors.Tasks.Tests.Layouts;

public class MaskLabelMapSpecs
{
    [Theory]
    [InlineData(0, 255)]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(150, 149)]
    public void Should_reduce_the_zero_label_as_the_ade20k_benchmark_does(int stored, int expected) =>
        Assert.Equal((byte)expected, MaskLabelMap.ReduceZeroLabel(150).Map((byte)stored));

    [Theory]
    [InlineData(0, 0)]
    [InlineData(10, 10)]
    [InlineData(12, 11)]
    [InlineData(24, 23)]
    [InlineData(26, 24)]
    [InlineData(91, 80)]
    [InlineData(181, 170)]
    [InlineData(255, 255)]
    public void Should_number_the_171_used_coco_stuff_ids_contiguously(int stored, int expected) =>
        Assert.Equal((byte)expected, MaskLabelMap.CocoStuff.Map((byte)stored));

    [Theory]
    [InlineData(11)]
    [InlineData(90)]
    [InlineData(182)]
    [InlineData(254)]
    public void Should_not_define_coco_stuff_values_the_set_never_uses(int stored) =>
        Assert.Null(MaskLabelMap.CocoStuff.Map((byte)stored));

    [Fact]
    public void Should_name_the_file_pixel_and_value_when_a_mask_holds_an_undefined_value()
    {
        var stored = new LabelMask(3, 1, [1, 2, 151]);

        var e = Assert.Throws<DataFormatException>(() => MaskLabelMap.ReduceZeroLabel(150).Apply("/data/a.png", stored));

        Assert.Equal("/data/a.png", e.FilePath);
        Assert.Contains("(2, 0)", e.Message);
        Assert.Contains("151", e.Message);
    }
}
