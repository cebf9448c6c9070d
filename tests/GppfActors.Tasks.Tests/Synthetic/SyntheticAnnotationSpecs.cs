using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Synthetic;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Synthetic;

/// <summary>
/// Checks the written annotations against each other and against the image: files are read back with the
/// format readers, and each image's scene is re-rendered to know which pixel belongs to which shape.
/// </summary>
public class SyntheticAnnotationSpecs(SynthData data) : IClassFixture<SynthData>
{
    private static readonly string[] Splits = ["train", "val"];

    private RenderedScene Render(SynthTask task, string split, int index) =>
        SceneRenderer.Render(SyntheticDatasetWriter.SceneFor(data.Options, task, split, index));

    [Fact]
    public void Should_contain_every_pixel_of_its_shape_when_box_is_read_from_coco()
    {
        foreach (var split in Splits)
        {
            var coco = CocoReader.Read(SynthLayout.CocoFile(data.Root, split), SynthLayout.ImageDir(data.Root, SynthTask.Detection, split));
            Assert.Equal(split == "train" ? 20 : 10, coco.Images.Count);
            foreach (var (image, i) in coco.Images.Select((im, i) => (im, i)))
            {
                var rendered = Render(SynthTask.Detection, split, i);
                Assert.Equal(rendered.Image.Pixels, RgbImageFile.Read(image.FilePath).Pixels);
                Assert.InRange(image.Objects.Count, 1, 4);
                foreach (var (obj, id) in image.Objects.Select((o, k) => (o, k)))
                {
                    var owned = Enumerable.Range(0, rendered.Instance.Length).Where(p => rendered.Instance[p] == id).ToArray();
                    Assert.NotEmpty(owned);
                    Assert.All(owned, p =>
                    {
                        float cx = p % 64 + 0.5f, cy = p / 64 + 0.5f;
                        Assert.InRange(cx, obj.X, obj.X + obj.Width);
                        Assert.InRange(cy, obj.Y, obj.Y + obj.Height);
                        Assert.Equal(obj.ClassIndex + 1, rendered.Semantic.Labels[p]);
                    });
                    // Rings are written as two C-shaped halves (COCO polygons have no holes), the rest as one outline.
                    Assert.Equal(obj.ClassIndex == (int)ShapeClass.Ring ? 2 : 1, obj.Polygons.Count);
                }
            }
        }
    }

    [Fact]
    public void Should_use_the_coco_category_ids_when_masks_label_classes()
    {
        var coco = CocoReader.Read(SynthLayout.CocoFile(data.Root, "train"), SynthLayout.ImageDir(data.Root, SynthTask.Detection, "train"));
        Assert.Equal(data.Manifest.Classes, coco.Categories.Select(c => c.Name));
        Assert.Equal([1L, 2, 3, 4, 5], coco.Categories.Select(c => c.Id));
        var seen = new HashSet<byte>();
        foreach (var split in Splits)
        {
            var masks = Directory.GetFiles(SynthLayout.MaskDir(data.Root, split)).Order(StringComparer.Ordinal).ToArray();
            foreach (var (path, i) in masks.Select((p, i) => (p, i)))
            {
                var mask = LabelMaskFile.Read(path);
                var scene = SyntheticDatasetWriter.SceneFor(data.Options, SynthTask.Segmentation, split, i);
                var rendered = SceneRenderer.Render(scene);
                Assert.Equal(rendered.Semantic.Labels, mask.Labels);
                for (var p = 0; p < mask.Labels.Length; p++)
                {
                    var label = mask.Labels[p];
                    seen.Add(label);
                    if (label is > 0 and < LabelMask.Ignore)
                    {
                        // The mask value is the COCO category id of the shape that owns the pixel.
                        var shape = scene.Shapes[rendered.Instance[p]];
                        Assert.Equal(ShapeClasses.NameOf(shape.Class), coco.Categories.Single(c => c.Id == label).Name);
                    }
                }
            }
        }
        Assert.Subset(new HashSet<byte> { 0, 1, 2, 3, 4, 5, 255 }, seen);
        Assert.Contains((byte)0, seen);
        Assert.Contains((byte)255, seen);
        Assert.True(seen.Count(l => l is > 0 and < 255) >= 3, "the masks should show several classes");
    }

    [Fact]
    public void Should_measure_shapes_nearer_than_the_background_when_depth_is_read()
    {
        var shapePixels = 0;
        foreach (var split in Splits)
        {
            var files = Directory.GetFiles(SynthLayout.DepthDir(data.Root, split)).Order(StringComparer.Ordinal).ToArray();
            foreach (var (path, i) in files.Select((p, i) => (p, i)))
            {
                var depth = DepthPngFile.Read(path);
                var scene = SyntheticDatasetWriter.SceneFor(data.Options, SynthTask.Depth, split, i);
                var rendered = SceneRenderer.Render(scene);
                for (var p = 0; p < depth.Metres.Length; p++)
                {
                    var background = scene.Background.DepthAt((p % 64 + 0.5f) / 64, (p / 64 + 0.5f) / 64);
                    var owner = rendered.Instance[p];
                    if (owner >= 0)
                    {
                        shapePixels++;
                        Assert.True(depth.Metres[p] > 0, $"{path}: no depth at shape pixel {p}");
                        Assert.True(depth.Metres[p] < background - 1, $"{path}: shape pixel {p} at {depth.Metres[p]} m is not in front of the background at {background} m");
                        Assert.InRange(depth.Metres[p], scene.Shapes[owner].DepthMetres - scene.Shapes[owner].BumpMetres - 0.01f, scene.Shapes[owner].DepthMetres + 0.01f);
                    }
                    else if (rendered.Semantic.Labels[p] == 0)
                    {
                        Assert.InRange(depth.Metres[p], background - 0.01f, background + 0.01f);
                    }
                    else
                    {
                        Assert.Equal(0f, depth.Metres[p]);
                    }
                }
            }
        }
        Assert.True(shapePixels > 1000, $"only {shapePixels} shape pixels in the depth task");
    }
}
