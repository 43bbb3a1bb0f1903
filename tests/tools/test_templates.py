"""The template helpers both tools share (tools/templates.py)."""

from __future__ import annotations

from tools.templates import is_custom_resource, ref_target, references, sub_references


def test_ref_and_get_att_name_their_target_but_pseudo_parameters_do_not() -> None:
    assert ref_target({"Ref": "Db"}) == "Db"
    assert ref_target({"Ref": "AWS::Region"}) is None
    assert ref_target({"Fn::GetAtt": ["Db", "Endpoint.Address"]}) == "Db"
    assert ref_target({"Fn::GetAtt": "Db.Endpoint.Address"}) == "Db"
    assert ref_target({"Fn::GetAtt": []}) is None
    assert ref_target("Db") is None


def test_fn_sub_variables_are_references() -> None:
    text = "arn:${AWS::Partition}:rds:${AWS::Region}:${!Literal}:db:${Db}/${Cluster.Arn}"
    assert sub_references(text) == {"Db", "Cluster"}
    # Variables the Sub defines itself are not logical ids; what they refer to is.
    argument = ["${Name}-${Queue.QueueName}", {"Name": {"Ref": "Db"}}]
    assert sub_references(argument) == {"Queue"}
    assert references({"Fn::Sub": argument}) == {"Queue", "Db"}
    nested = {"Fn::Join": ["", ["x", {"Fn::Sub": text}, {"Fn::GetAtt": ["Bucket", "Arn"]}]]}
    assert references(nested) == {"Db", "Cluster", "Bucket"}
    assert references({"Fn::Sub": "${!Db} in ${AWS::Region}"}) == set()


def test_custom_resources() -> None:
    assert is_custom_resource("Custom::Thing")
    assert is_custom_resource("AWS::CloudFormation::CustomResource")
    assert not is_custom_resource("AWS::Lambda::Function")
