using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Atalaya.Tests.Architecture;

/// <summary>
/// Reads a compiled assembly and lists which namespaces each namespace's types reference: base
/// types, interfaces, generic constraints, field, method, property and event signatures, locals,
/// attributes, and every type, method and field token in the method bodies. Compiler-generated
/// types (closures, state machines) count for the namespace of the type they are nested in.
/// Reading the IL rather than the source means a reference through <c>var</c>, a lambda or an
/// extension method is seen as well.
/// </summary>
internal static class NamespaceReferences
{
    /// <summary>The references from types in <paramref name="From"/> to types in <paramref name="To"/>: each using type and the type it names.</summary>
    internal sealed record Edge(string From, string To, IReadOnlyList<(string FromType, string ToType)> Uses);

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>
    /// Every namespace-to-namespace reference among namespaces starting with <paramref name="prefix"/>
    /// (a namespace's references to itself are left out).
    /// </summary>
    public static IReadOnlyList<Edge> Read(string assemblyPath, string prefix)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        var edges = new Dictionary<(string From, string To), SortedSet<(string, string)>>();
        foreach (var typeHandle in reader.TypeDefinitions)
        {
            var from = OutermostName(reader, typeHandle);
            if (!from.Namespace.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }
            foreach (var target in ReferencedTypes(reader, pe, typeHandle))
            {
                if (target.Namespace != from.Namespace && target.Namespace.StartsWith(prefix, StringComparison.Ordinal))
                {
                    var key = (from.Namespace, target.Namespace);
                    if (!edges.TryGetValue(key, out var uses))
                    {
                        edges[key] = uses = [];
                    }
                    uses.Add((from.FullName, target.FullName));
                }
            }
        }
        return [.. edges
            .Select(e => new Edge(e.Key.From, e.Key.To, [.. e.Value]))
            .OrderBy(e => e.From, StringComparer.Ordinal).ThenBy(e => e.To, StringComparer.Ordinal)];
    }

    /// <summary>The namespaces of the types the assembly defines (compiler-generated top-level types have none and are left out).</summary>
    public static IReadOnlyList<string> Namespaces(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        return [.. reader.TypeDefinitions.Select(t => OutermostName(reader, t).Namespace).Where(ns => ns.Length > 0).Distinct().Order(StringComparer.Ordinal)];
    }

    private static List<TypeName> ReferencedTypes(MetadataReader reader, PEReader pe, TypeDefinitionHandle handle)
    {
        var found = new List<TypeName>();
        var provider = new SignatureTypes(found);
        var type = reader.GetTypeDefinition(handle);
        AddType(reader, provider, type.BaseType, found);
        foreach (var implementation in type.GetInterfaceImplementations())
        {
            AddType(reader, provider, reader.GetInterfaceImplementation(implementation).Interface, found);
        }
        AddGenericConstraints(reader, provider, type.GetGenericParameters(), found);
        AddAttributes(reader, provider, type.GetCustomAttributes(), found);
        foreach (var fieldHandle in type.GetFields())
        {
            var field = reader.GetFieldDefinition(fieldHandle);
            field.DecodeSignature(provider, null);
            AddAttributes(reader, provider, field.GetCustomAttributes(), found);
        }
        foreach (var propertyHandle in type.GetProperties())
        {
            var property = reader.GetPropertyDefinition(propertyHandle);
            property.DecodeSignature(provider, null);
            AddAttributes(reader, provider, property.GetCustomAttributes(), found);
        }
        foreach (var eventHandle in type.GetEvents())
        {
            AddType(reader, provider, reader.GetEventDefinition(eventHandle).Type, found);
        }
        foreach (var methodHandle in type.GetMethods())
        {
            var method = reader.GetMethodDefinition(methodHandle);
            method.DecodeSignature(provider, null);
            AddAttributes(reader, provider, method.GetCustomAttributes(), found);
            AddGenericConstraints(reader, provider, method.GetGenericParameters(), found);
            foreach (var parameter in method.GetParameters())
            {
                AddAttributes(reader, provider, reader.GetParameter(parameter).GetCustomAttributes(), found);
            }
            if (method.RelativeVirtualAddress != 0)
            {
                AddBody(reader, provider, pe.GetMethodBody(method.RelativeVirtualAddress), found);
            }
        }
        return found;
    }

    private static void AddBody(MetadataReader reader, SignatureTypes provider, MethodBodyBlock body, List<TypeName> found)
    {
        if (!body.LocalSignature.IsNil)
        {
            reader.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(provider, null);
        }
        var il = body.GetILReader();
        while (il.RemainingBytes > 0)
        {
            short value = il.ReadByte();
            if (value == 0xFE)
            {
                value = unchecked((short)(0xFE00 | il.ReadByte()));
            }
            var opCode = OpCodesByValue[value];
            switch (opCode.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    il.Offset += 1;
                    break;
                case OperandType.InlineVar:
                    il.Offset += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    il.Offset += 8;
                    break;
                case OperandType.InlineSwitch:
                    var targets = il.ReadInt32();
                    il.Offset += 4 * targets;
                    break;
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    AddToken(reader, provider, MetadataTokens.EntityHandle(il.ReadInt32()), found);
                    break;
                default:
                    il.Offset += 4;
                    break;
            }
        }
    }

    private static void AddToken(MetadataReader reader, SignatureTypes provider, EntityHandle handle, List<TypeName> found)
    {
        switch (handle.Kind)
        {
            case HandleKind.MethodDefinition:
                var method = reader.GetMethodDefinition((MethodDefinitionHandle)handle);
                AddType(reader, provider, method.GetDeclaringType(), found);
                method.DecodeSignature(provider, null);
                break;
            case HandleKind.FieldDefinition:
                var field = reader.GetFieldDefinition((FieldDefinitionHandle)handle);
                AddType(reader, provider, field.GetDeclaringType(), found);
                field.DecodeSignature(provider, null);
                break;
            case HandleKind.MemberReference:
                var member = reader.GetMemberReference((MemberReferenceHandle)handle);
                AddToken(reader, provider, member.Parent, found);
                if (member.GetKind() == MemberReferenceKind.Method)
                {
                    member.DecodeMethodSignature(provider, null);
                }
                else
                {
                    member.DecodeFieldSignature(provider, null);
                }
                break;
            case HandleKind.MethodSpecification:
                var specification = reader.GetMethodSpecification((MethodSpecificationHandle)handle);
                AddToken(reader, provider, specification.Method, found);
                specification.DecodeSignature(provider, null);
                break;
            default:
                AddType(reader, provider, handle, found);
                break;
        }
    }

    private static void AddType(MetadataReader reader, SignatureTypes provider, EntityHandle handle, List<TypeName> found)
    {
        if (handle.IsNil)
        {
            return;
        }
        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition:
                found.Add(OutermostName(reader, (TypeDefinitionHandle)handle));
                break;
            case HandleKind.TypeReference:
                found.Add(OutermostName(reader, (TypeReferenceHandle)handle));
                break;
            case HandleKind.TypeSpecification:
                reader.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(provider, null);
                break;
        }
    }

    private static void AddGenericConstraints(MetadataReader reader, SignatureTypes provider, GenericParameterHandleCollection parameters, List<TypeName> found)
    {
        foreach (var parameter in parameters)
        {
            foreach (var constraint in reader.GetGenericParameter(parameter).GetConstraints())
            {
                AddType(reader, provider, reader.GetGenericParameterConstraint(constraint).Type, found);
            }
        }
    }

    private static void AddAttributes(MetadataReader reader, SignatureTypes provider, CustomAttributeHandleCollection attributes, List<TypeName> found)
    {
        foreach (var attribute in attributes)
        {
            AddToken(reader, provider, reader.GetCustomAttribute(attribute).Constructor, found);
        }
    }

    private static TypeName OutermostName(MetadataReader reader, TypeDefinitionHandle handle)
    {
        var type = reader.GetTypeDefinition(handle);
        var name = reader.GetString(type.Name);
        while (type.IsNested)
        {
            type = reader.GetTypeDefinition(type.GetDeclaringType());
            name = reader.GetString(type.Name) + "+" + name;
        }
        var ns = reader.GetString(type.Namespace);
        return new TypeName(ns, ns + "." + name);
    }

    private static TypeName OutermostName(MetadataReader reader, TypeReferenceHandle handle)
    {
        var type = reader.GetTypeReference(handle);
        while (type.ResolutionScope.Kind == HandleKind.TypeReference)
        {
            type = reader.GetTypeReference((TypeReferenceHandle)type.ResolutionScope);
        }
        var ns = reader.GetString(type.Namespace);
        return new TypeName(ns, ns + "." + reader.GetString(type.Name));
    }

    private readonly record struct TypeName(string Namespace, string FullName);

    /// <summary>Decodes signatures for their side effect: every named type in them is added to the list.</summary>
    private sealed class SignatureTypes(List<TypeName> found) : ISignatureTypeProvider<bool, object?>
    {
        public bool GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
        {
            found.Add(OutermostName(reader, handle));
            return true;
        }

        public bool GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
        {
            found.Add(OutermostName(reader, handle));
            return true;
        }

        public bool GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);

        public bool GetPrimitiveType(PrimitiveTypeCode typeCode) => true;

        public bool GetSZArrayType(bool elementType) => true;

        public bool GetArrayType(bool elementType, ArrayShape shape) => true;

        public bool GetByReferenceType(bool elementType) => true;

        public bool GetPointerType(bool elementType) => true;

        public bool GetPinnedType(bool elementType) => true;

        public bool GetGenericInstantiation(bool genericType, ImmutableArray<bool> typeArguments) => true;

        public bool GetGenericMethodParameter(object? genericContext, int index) => true;

        public bool GetGenericTypeParameter(object? genericContext, int index) => true;

        public bool GetModifiedType(bool modifier, bool unmodifiedType, bool isRequired) => true;

        public bool GetFunctionPointerType(MethodSignature<bool> signature) => true;
    }
}
